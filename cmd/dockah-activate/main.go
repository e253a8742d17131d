// Command dockah-activate is the activation shim: NAME.service runs
// "dockah-activate NAME", which builds the container and execs its
// entrypoint, leaving nothing of dockah resident: systemd's main pid
// becomes the container's init.
//
// GOMAXPROCS is the number of CPUs, not read from the cgroup's CPU
// limit: Go reads /proc/self/mountinfo and the cgroup files for it at
// every start, which a short-lived process of the start path does not
// need (and it never changes it later).
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/activation/confine"
	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/unitgen"
)

const usage = `usage: dockah-activate NAME
       dockah-activate --definition FILE NAME
       dockah-activate --spec NAME
       dockah-activate --stopped NAME

Run the container NAME as the main process of the current systemd service.
The generated NAME.service calls this; run it by hand only to debug (it then
waits for the container and exits with its status). It reads the definition
of NAME, takes the sockets systemd passed (LISTEN_FDS), builds the container
and execs its entrypoint.

--definition reads the definition from FILE alone (containers of "dockah
run", which are transient units, not generated ones).

--spec prints the OCI runtime spec the container would run with.

--stopped records the container's stop in the journal and the kernel's
audit log (ExecStopPost= of NAME.service; systemd passes $SERVICE_RESULT,
$EXIT_CODE and $EXIT_STATUS).

The image store is /var/lib/dockah unless DOCKAH_ROOT says otherwise.
`

func main() {
	// The forwarder of a container that binds its own port is this
	// binary too, started by the shim (serveForwards).
	if confine.IsForwarder() {
		runForwarder()
	}
	// The same binary runs the stages (and the init) when dockah-stage
	// is not installed beside it.
	if activation.IsStage() {
		activation.RunStage()
	}
	if activation.IsInit() {
		activation.RunInit()
	}
	args := os.Args[1:]
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Print(usage)
	case len(args) == 2 && args[0] == "--spec":
		exitOn(args[1], printSpec(args[1]))
	case len(args) == 2 && args[0] == "--stopped":
		stopped(args[1])
	case len(args) == 1 && args[0] != "" && args[0][0] != '-':
		status, err := start(args[0], "")
		exitOn(args[0], err)
		os.Exit(status)
	case len(args) == 3 && args[0] == "--definition":
		status, err := start(args[2], args[1])
		exitOn(args[2], err)
		os.Exit(status)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
}

// exitOn prints err as the one line the journal shows and exits with a
// status systemd's Restart= logic can act on.
func exitOn(name string, err error) {
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "dockah-activate: %s: %v\n", name, err)
	if status, ok := activation.CommandStatus(err); ok {
		os.Exit(status)
	}
	// For dockah run's scope, every failure of the shim's is dockah's
	// own (125, as podman run's); exitConfig is for systemd's Restart=.
	if launch.IsConfigError(err) && !scopeRunning {
		os.Exit(exitConfig)
	}
	os.Exit(activation.ExitSetupFailed)
}

func printSpec(name string) error {
	prep, err := prepare(name, "", nil, launch.ModePrint)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(prep.Config.Spec)
}

// definitionFS is the file system definitions are read from.
var definitionFS = os.DirFS("/")

func loadDefinition(name string) (*unitgen.Definition, error) {
	def, err := unitgen.LoadUnit(definitionFS, name)
	if err != nil {
		return nil, launch.ConfigError{Err: err}
	}
	return def, nil
}
