// Command dockah-generator is the systemd generator that turns container
// definitions into NAME.service and NAME.socket units.
//
// systemd runs it at boot and on every daemon-reload as
// "dockah-generator NORMAL EARLY LATE". It writes only into NORMAL.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: dockah-generator NORMAL_DIR [EARLY_DIR LATE_DIR]

systemd runs this generator at boot and on daemon-reload. It reads container
definitions from /etc/dockah/containers, /run/dockah/containers and
/usr/lib/dockah/containers and writes NAME.service and NAME.socket units into
NORMAL_DIR. It never fails the boot: a bad definition is reported and skipped.
`

func main() {
	args := os.Args[1:]
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Print(usage)
		return
	}
	fmt.Fprintln(os.Stderr, "dockah-generator: generating units is not implemented yet")
	os.Exit(1)
}
