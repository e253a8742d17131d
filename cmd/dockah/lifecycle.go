package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

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
	// stopTime, when not negative, is how long a stop waits after the
	// stop signal before it kills what is left (stop -t).
	stopTime int
	// store is where a container of dockah run that starts again finds
	// its image.
	store *globalOptions
}

func newStartCommand(g *globalOptions) *cobra.Command {
	return newLifecycleCommand(g, "start", "Start containers now",
		`Start NAME.service of each container through systemd (as systemctl start
does) and wait until the container runs. A container with sockets is
otherwise started by its first connection; this starts it at once.

A container that kept failing starts all the same: its service, its socket
units and the unit that pulls its image are reset first, as systemctl
reset-failed does (which also clears systemd's start limit), and the socket
units that had failed are started again. A start that fails says how the
main process ended and systemd's result for the service.`,
		`  dockah start web
  dockah start web@blue web@green`)
}

func newStopCommand(g *globalOptions) *cobra.Command {
	return newLifecycleCommand(g, "stop", "Stop containers",
		`Stop NAME.service of each container through systemd and wait until it is
gone: systemd sends the stop signal, waits for the stop timeout, then
kills what is left in the cgroup. Socket units stay: the next connection
starts the container again (stop NAME.socket with systemctl to close them).`,
		`  dockah stop web
  dockah stop --no-block web`)
}

func newRestartCommand(g *globalOptions) *cobra.Command {
	return newLifecycleCommand(g, "restart", "Restart containers",
		`Restart NAME.service of each container through systemd: stop it, then start
it again, and wait until it runs. As start does, it first resets the
container's failed units and starts its failed socket units again.`,
		`  dockah restart web`)
}

func newLifecycleCommand(g *globalOptions, verb, short, long, example string) *cobra.Command {
	opts := &lifecycleOptions{store: g}
	cmd := containersCommand(verb+" NAME...", short, long, example, func(c *cobra.Command, names []string) error {
		ctx := c.Context()
		conn, err := openSystemd(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		var errs []error
		for _, name := range names {
			if err := runLifecycle(ctx, conn, verb, opts, name); err != nil {
				errs = append(errs, err)
			}
		}
		return summarize(c.ErrOrStderr(), verb, len(names), errs)
	})
	cmd.Flags().BoolVar(&opts.noBlock, "no-block", false, "do not wait for the job to finish")
	opts.stopTime = -1
	if verb == "stop" {
		cmd.Flags().IntVarP(&opts.stopTime, "time", "t", -1,
			"seconds to wait after the stop signal before killing the container, for this stop (default: its stop_timeout, 10s unless set)")
	}
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

// runLifecycle runs verb for the container name: a stop of its service,
// or a start or restart after clearing what earlier failures left.
func runLifecycle(ctx context.Context, conn *sdbus.Conn, verb string, opts *lifecycleOptions, name string) error {
	if run := runContainerNamed(os.DirFS(opts.sysroot), name); run != nil {
		return runLifecycleOfRun(ctx, conn, verb, opts, run)
	}
	units, err := lifecycleUnits(opts.sysroot, name, verb == "stop")
	if err != nil {
		return err
	}
	if verb == "stop" && opts.stopTime >= 0 {
		if opts.noBlock {
			return fmt.Errorf("stop %s: --time needs to wait for the stop; drop --no-block", name)
		}
		return stopWithin(ctx, conn, units.Service, name, time.Duration(opts.stopTime)*time.Second)
	}
	if verb == "stop" {
		return runContainerJob(ctx, conn, verb, units.Service, name, !opts.noBlock)
	}
	return startContainer(ctx, conn, verb, units, name, !opts.noBlock)
}

// stopWithin stops a service and, if it is still stopping after timeout,
// kills every process in its cgroup (SIGKILL), as docker stop -t does. A
// unit's TimeoutStopSec= cannot be changed at run time (systemd refuses
// the property), so the kill is ours; the unit then ends with result
// "signal", as a container killed at its stop timeout ends with "timeout".
func stopWithin(ctx context.Context, conn *sdbus.Conn, unit, name string, timeout time.Duration) error {
	done := make(chan string, 1)
	if _, err := conn.StopUnitContext(ctx, unit, "replace", done); err != nil {
		return fmt.Errorf("stop %s: %w", unit, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w", unit, ctx.Err())
	}
	if err := conn.KillUnitWithTarget(ctx, unit, sdbus.All, int32(syscall.SIGKILL)); err != nil {
		return fmt.Errorf("stop %s: kill after %s: %w", unit, timeout, err)
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w (see: dockah logs %s)", unit, ctx.Err(), name)
	}
}

// containerUnits are the units of one container that start, stop and
// restart act on.
type containerUnits struct {
	Service string
	// Sockets are the container's socket units.
	Sockets []string
	// Pull pulls the image before each start, dockah-pull@NAME.service;
	// empty with pull = "never".
	Pull string
}

// all lists every unit of u, the service first.
func (u containerUnits) all() []string {
	all := append([]string{u.Service}, u.Sockets...)
	if u.Pull != "" {
		all = append(all, u.Pull)
	}
	return all
}

// unitsOf returns the units of a definition, which is not a template.
func unitsOf(def *unitgen.Definition) containerUnits {
	u := containerUnits{Service: def.ServiceUnit(), Pull: def.PullUnit()}
	for _, s := range def.SocketUnits() {
		u.Sockets = append(u.Sockets, s.Unit)
	}
	return u
}

// lifecycleUnits returns the units of a defined container. A stop is
// allowed for a name whose definition is gone: its service may still run.
func lifecycleUnits(sysroot, name string, stop bool) (containerUnits, error) {
	def, err := loadDefinedOrRun(os.DirFS(sysroot), name)
	if stop && (errors.Is(err, unitgen.ErrNotFound) || errors.Is(err, unitgen.ErrMasked)) {
		return containerUnits{Service: name + ".service"}, nil
	}
	if err != nil {
		return containerUnits{}, err
	}
	return unitsOf(def), nil
}

// startContainer starts or restarts a container after clearing what
// earlier failures left. systemd refuses to start a service that started
// five times within ten seconds (its start limit), and a socket whose
// service keeps failing fails too and stops listening (service-start-
// limit-hit, or its own trigger-limit-hit); neither recovers by itself,
// not even at daemon-reload. So the units are reset first, as systemctl
// reset-failed does, and the sockets that had failed are started again
// before the service.
func startContainer(ctx context.Context, conn *sdbus.Conn, verb string, units containerUnits, name string, wait bool) error {
	failed, err := failedUnits(ctx, conn, units.Sockets)
	if err != nil {
		return err
	}
	if err := resetFailed(ctx, conn, units.all()); err != nil {
		return err
	}
	for _, socket := range failed {
		if err := runContainerJob(ctx, conn, "start", socket, name, wait); err != nil {
			return err
		}
	}
	return runContainerJob(ctx, conn, verb, units.Service, name, wait)
}

// failedUnits returns those of units whose ActiveState is "failed".
func failedUnits(ctx context.Context, conn *sdbus.Conn, units []string) ([]string, error) {
	if len(units) == 0 {
		return nil, nil
	}
	list, err := conn.ListUnitsByNamesContext(ctx, units)
	if err != nil {
		return nil, fmt.Errorf("ask systemd about %s: %w", strings.Join(units, ", "), err)
	}
	var failed []string
	for _, u := range list {
		if u.ActiveState == "failed" {
			failed = append(failed, u.Name)
		}
	}
	return failed, nil
}

// noSuchUnit is the D-Bus error systemd answers about a unit it has not
// loaded.
const noSuchUnit = "org.freedesktop.systemd1.NoSuchUnit"

// resetFailed resets the failed state, the result and the start limit
// count of each of units (ResetFailedUnit, systemctl reset-failed). A unit
// systemd has not loaded has nothing to reset.
func resetFailed(ctx context.Context, conn *sdbus.Conn, units []string) error {
	for _, unit := range units {
		err := conn.ResetFailedUnitContext(ctx, unit)
		if err != nil && !isNoSuchUnit(err) {
			return fmt.Errorf("reset failed unit %s: %w", unit, err)
		}
	}
	return nil
}

// isNoSuchUnit reports whether err is systemd's answer about a unit it has
// not loaded.
func isNoSuchUnit(err error) bool { return isDBusError(err, noSuchUnit) }

// isDBusError reports whether err is the D-Bus error name. godbus returns
// the errors of calls as values, and makes pointers with NewError.
func isDBusError(err error, name string) bool {
	var value godbus.Error
	if errors.As(err, &value) {
		return value.Name == name
	}
	var ptr *godbus.Error
	return errors.As(err, &ptr) && ptr.Name == name
}

// runJob asks systemd to start, stop or restart unit and, if wait is set,
// waits for the job's result.
func runJob(ctx context.Context, conn *sdbus.Conn, verb, unit string, wait bool) error {
	return runContainerJob(ctx, conn, verb, unit, containerOfUnit(unit), wait)
}

// runContainerJob is runJob for a unit of the container name, whose logs
// the error of a failed job points to.
func runContainerJob(ctx context.Context, conn *sdbus.Conn, verb, unit, name string, wait bool) error {
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
			return fmt.Errorf("%s %s: %s (see: dockah logs %s)", verb, unit, jobFailure(ctx, conn, unit, result), name)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", verb, unit, ctx.Err())
	}
}

// jobFailure says why a job on unit ended with result ("failed",
// "timeout", "dependency"...): for a service, also how its main process
// ended and the service's result, as systemd reports them. A dependency
// failed before the service ran, and its result would be an earlier one.
func jobFailure(ctx context.Context, conn *sdbus.Conn, unit, result string) string {
	msg := "job " + result
	if result == "dependency" {
		return msg + ": a unit it requires failed"
	}
	if !strings.HasSuffix(unit, ".service") {
		return msg
	}
	props, err := conn.GetUnitTypePropertiesContext(ctx, unit, "Service")
	if err != nil {
		return msg
	}
	if why := serviceFailure(props); why != "" {
		msg += ": " + why
	}
	return msg
}

// How a process ended, as ExecMainCode reports it (the si_code of its
// SIGCHLD).
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// serviceFailure describes a failed service from its D-Bus properties:
// its Result and, when the Result says its main process ended it, the
// exit status (ExecMainStatus) or signal of that process. It is "" when
// the Result is success. The main process is the activation shim until it
// hands over to the container's init: a status of 125 is the shim's, which
// could not start the container (its journal says why).
func serviceFailure(props map[string]any) string {
	result, _ := props["Result"].(string)
	code, _ := props["ExecMainCode"].(int32)
	status, _ := props["ExecMainStatus"].(int32)
	switch {
	case result == "" || result == "success":
		return ""
	case result == "exit-code" && code == cldExited:
		return fmt.Sprintf("main process exited with status %d, result %s", status, result)
	case (result == "signal" || result == "core-dump") && (code == cldKilled || code == cldDumped):
		return fmt.Sprintf("main process killed by signal %s, result %s", signalName(status), result)
	}
	return "result " + result
}

// signalName is "SIGKILL" for 9, or the number of a signal without a name.
func signalName(n int32) string {
	if name := unix.SignalName(syscall.Signal(n)); name != "" {
		return name
	}
	return strconv.Itoa(int(n))
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
