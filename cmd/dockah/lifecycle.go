package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/unitgen"
)

// jobVerbs are the lifecycle commands and the systemd call behind each.
var jobVerbs = map[string]func(*sdbus.Conn, context.Context, string, string, chan<- string) (int, error){
	"start":   (*sdbus.Conn).StartUnitContext,
	"stop":    (*sdbus.Conn).StopUnitContext,
	"restart": (*sdbus.Conn).RestartUnitContext,
}

type lifecycleOptions struct {
	noBlock bool
	sysroot string
}

func newStartCommand(_ *globalOptions) *cobra.Command {
	return newLifecycleCommand("start", "Start containers now",
		`Start NAME.service of each container through systemd (as systemctl start
does) and wait until the container runs. A container with sockets is
otherwise started by its first connection; this starts it at once.`,
		`  dockah start web
  dockah start web@blue web@green`)
}

func newStopCommand(_ *globalOptions) *cobra.Command {
	return newLifecycleCommand("stop", "Stop containers",
		`Stop NAME.service of each container through systemd and wait until it is
gone: systemd sends the stop signal, waits for the stop timeout, then
kills what is left in the cgroup. Socket units stay: the next connection
starts the container again (stop NAME.socket with systemctl to close them).`,
		`  dockah stop web
  dockah stop --no-block web`)
}

func newRestartCommand(_ *globalOptions) *cobra.Command {
	return newLifecycleCommand("restart", "Restart containers",
		`Restart NAME.service of each container through systemd: stop it, then start
it again, and wait until it runs.`,
		`  dockah restart web`)
}

func newLifecycleCommand(verb, short, long, example string) *cobra.Command {
	opts := &lifecycleOptions{}
	cmd := containersCommand(verb+" NAME...", short, long, example, func(c *cobra.Command, names []string) error {
		ctx := c.Context()
		conn, err := openSystemd(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		var errs []error
		for _, name := range names {
			unit, err := serviceUnit(opts.sysroot, name, verb == "stop")
			if err == nil {
				err = runJob(ctx, conn, verb, unit, !opts.noBlock)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		return summarize(c.ErrOrStderr(), verb, len(names), errs)
	})
	cmd.Flags().BoolVar(&opts.noBlock, "no-block", false, "do not wait for the job to finish")
	addSysrootFlag(cmd, &opts.sysroot)
	return cmd
}

// containersCommand is a command that takes one or more container names.
func containersCommand(use, short, long, example string, run func(*cobra.Command, []string) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeContainers,
		RunE:              run,
	}
}

// addSysrootFlag adds the hidden --sysroot the tests use to read the
// definitions (and write drop-ins) below another root.
func addSysrootFlag(cmd *cobra.Command, sysroot *string) {
	cmd.Flags().StringVar(sysroot, "sysroot", "/", "read the definitions below `ROOT` instead of /")
	_ = cmd.Flags().MarkHidden("sysroot")
}

// serviceUnit returns the service of a defined container. A stop is
// allowed for a name whose definition is gone: its unit may still run.
func serviceUnit(sysroot, name string, stop bool) (string, error) {
	def, err := unitgen.LoadUnit(os.DirFS(sysroot), name)
	if stop && (errors.Is(err, unitgen.ErrNotFound) || errors.Is(err, unitgen.ErrMasked)) {
		return name + ".service", nil
	}
	if errors.Is(err, unitgen.ErrNotFound) {
		return "", fmt.Errorf("no container %s: no %s.toml in /etc/dockah/containers, /run/dockah/containers or /usr/lib/dockah/containers", name, name)
	}
	if err != nil {
		return "", err
	}
	return def.ServiceUnit(), nil
}

// runJob asks systemd to start, stop or restart unit and, if wait is set,
// waits for the job's result.
func runJob(ctx context.Context, conn *sdbus.Conn, verb, unit string, wait bool) error {
	var done chan string
	if wait {
		done = make(chan string, 1)
	}
	if _, err := jobVerbs[verb](conn, ctx, unit, "replace", done); err != nil {
		return fmt.Errorf("%s %s: %w", verb, unit, err)
	}
	if !wait {
		return nil
	}
	select {
	case result := <-done:
		if result != "done" {
			return fmt.Errorf("%s %s: job %s (see: dockah logs %s)", verb, unit, result, containerOfUnit(unit))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", verb, unit, ctx.Err())
	}
}

// containerOfUnit is the container name of NAME.service or NAME.socket.
func containerOfUnit(unit string) string {
	for _, suffix := range []string{".service", ".socket"} {
		if name, ok := strings.CutSuffix(unit, suffix); ok {
			return name
		}
	}
	return unit
}

// summarize returns the error of a command run on n names: the one error
// as it is, or each on a line of its own and a count.
func summarize(w io.Writer, verb string, n int, errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	for _, err := range errs {
		fmt.Fprintf(w, "dockah: %v\n", err)
	}
	return fmt.Errorf("%s failed for %d of %d containers", verb, len(errs), n)
}
