package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/unitgen"
)

type killOptions struct {
	signal  string
	sysroot string
}

func newKillCommand(_ *globalOptions) *cobra.Command {
	opts := &killOptions{}
	cmd := containersCommand("kill [-s SIGNAL] NAME...", "Send a signal to containers (SIGKILL unless -s)",
		`Send SIGNAL to the main process of each container (its pid 1), through
systemd (systemctl kill --kill-whom=main), as docker kill does. The default
is SIGKILL, which ends the container at once; with another signal it is up to
the application. A container killed this way ends as failed unless its
signal is its stop signal; dockah ps -a shows how it ended.`,
		`  dockah kill web
  dockah kill -s HUP web
  dockah kill --signal SIGUSR1 run-3fa9c2d1`,
		func(c *cobra.Command, names []string) error {
			sig, err := parseSignal(opts.signal)
			if err != nil {
				return err
			}
			ctx := c.Context()
			conn, err := openSystemd(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			var errs []error
			for _, name := range names {
				def, err := loadDefinedOrRun(os.DirFS(opts.sysroot), name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				service := def.ServiceUnit()
				state, err := conn.GetUnitPropertyContext(ctx, service, "ActiveState")
				if err != nil || !(containerStatus{State: strings.Trim(state.Value.String(), `"`)}).running() {
					errs = append(errs, fmt.Errorf("kill %s: the container does not run", name))
					continue
				}
				if err := conn.KillUnitWithTarget(ctx, service, sdbus.Main, int32(sig)); err != nil {
					errs = append(errs, fmt.Errorf("kill %s: %w", name, err))
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), name)
			}
			return summarize(c.ErrOrStderr(), "kill", len(names), errs)
		})
	cmd.Flags().StringVarP(&opts.signal, "signal", "s", "SIGKILL", "the signal: a name (KILL, SIGHUP) or a number")
	addSysrootFlag(cmd, &opts.sysroot)
	return cmd
}

// parseSignal reads a signal as docker kill -s does: a number, or a name
// with or without SIG, any case.
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	if n := unitgen.SignalNumber(strings.ToUpper(s)); n > 0 {
		return syscall.Signal(n), nil
	}
	return 0, fmt.Errorf("-s %q: not a signal; accepted: a name (KILL, SIGHUP, TERM) or a number 1-64", s)
}
