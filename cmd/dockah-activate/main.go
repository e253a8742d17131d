// Command dockah-activate is the activation shim: NAME.service runs
// "dockah-activate NAME", which builds the container and execs its
// entrypoint in place, leaving nothing of dockah resident.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: dockah-activate NAME

Run the container NAME as the main process of the current systemd service.
The generated NAME.service calls this; run it by hand only to debug. It reads
the definition of NAME, takes the sockets systemd passed (LISTEN_FDS), builds
the container and execs its entrypoint.
`

func main() {
	args := os.Args[1:]
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Print(usage)
		return
	}
	fmt.Fprintln(os.Stderr, "dockah-activate: running containers is not implemented yet")
	os.Exit(1)
}
