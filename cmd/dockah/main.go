// Command dockah is the command line for dockah: images, generated units,
// and inspection of containers that systemd runs.
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
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/dockah/dockah/activation"
)

// defaultStoreRoot is where images, layers and writable layers live unless
// --root or DOCKAH_ROOT move them.
const defaultStoreRoot = "/var/lib/dockah"

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	storeRoot string
	quiet     bool
}

func main() {
	activation.Trace("cli: running")
	root := newRootCommand()
	handOver(root, os.Args[1:])
	cmd, err := root.ExecuteC()
	activation.Trace("cli: done")
	if errors.Is(err, errFullBuild) {
		execFull(os.Args[1:])
	}
	if err != nil {
		if cmd.Name() == "run" {
			// As podman run: 125 is dockah's own failure, bad flags
			// included; the container's status passes as it is.
			var status exitStatusError
			if !errors.As(err, &status) {
				err = runFailure{err}
			}
		}
		// A command that passes on a container's exit status has
		// nothing to add to it.
		var status exitStatusError
		if !errors.As(err, &status) {
			fmt.Fprintf(os.Stderr, "dockah: %v\n", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitRunFailed is the status of a dockah run that failed before its
// container's command ran, as podman run's and docker run's.
const exitRunFailed = 125

// exitStatusError carries an exit status that a command wants to return
// as its own (for example the status of a container run in the foreground).
type exitStatusError struct{ status int }

func (e exitStatusError) Error() string { return fmt.Sprintf("exit status %d", e.status) }

func exitCode(err error) int {
	var status exitStatusError
	if errors.As(err, &status) {
		return status.status
	}
	if errors.As(err, new(runFailure)) {
		return exitRunFailed
	}
	return 1
}

func newRootCommand() *cobra.Command {
	opts := &globalOptions{}
	root := &cobra.Command{
		Use:   "dockah COMMAND",
		Short: "Containers as systemd services: images, units and inspection",
		Long: `dockah runs containers as ordinary systemd services. A container is a TOML
file in /etc/dockah/containers; a systemd generator turns it into NAME.service
and NAME.socket; systemctl starts, stops and socket-activates it.

This command manages images (pull, push, image import, save, ls, rm), says
what they carry (image packages, which, audit), shows what the generator
and the shim do (validate, generate, spec), runs containers now (run, as
docker run) and operates them all: ps, inspect, logs, exec, top, stats,
start, stop, restart, kill, rm, commit, enable, auto-update, system df and
prune.`,
		Example: `  dockah image import nginx.tar
  dockah ps -a
  dockah logs -f web
  dockah exec -it web sh`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	storeDefault := defaultStoreRoot
	if env := os.Getenv("DOCKAH_ROOT"); env != "" {
		storeDefault = env
	}
	root.PersistentFlags().StringVar(&opts.storeRoot, "root", storeDefault, "image store directory (env DOCKAH_ROOT)")
	root.PersistentFlags().BoolVarP(&opts.quiet, "quiet", "q", false, "print nothing but results and errors")

	root.AddCommand(leanCommands(opts)...)
	root.AddCommand(fullCommands(opts)...)
	requireSubcommand(root)
	return root
}

// leanCommands are the commands of the lean build as well as the full
// one (lean.go): those of the start path, whose code links nothing of
// registries, image formats, builds, inventories or Kubernetes.
func leanCommands(opts *globalOptions) []*cobra.Command {
	return []*cobra.Command{
		newVersionCommand(),
		newGenerateCommand(opts),
		newValidateCommand(opts),
		newSpecCommand(opts),
		newRunCommand(opts),
		newRunEndedCommand(opts),
		newPsCommand(opts),
		newTopCommand(opts),
		newStatsCommand(opts),
		newInspectCommand(opts),
		newLogsCommand(opts),
		newStartCommand(opts),
		newStopCommand(opts),
		newKillCommand(opts),
		newRestartCommand(opts),
		newEnableCommand(opts),
		newDisableCommand(opts),
		newRmCommand(opts),
		newSystemCommand(opts),
	}
}

// version is set by the Makefile through -ldflags.
var version = "dev"

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of dockah",
		Example: "  dockah version",
		Args:    cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "dockah", version)
		},
	}
}
