package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/machined"
	"github.com/dockah/dockah/unitgen"
)

// An attached dockah run without published ports or a restart policy
// (the common "dockah run --rm IMAGE CMD") runs its shim as this
// command's child, in a transient scope unit NAME.scope made for it, as
// systemd-run --scope does, instead of as a transient service: systemd
// then spawns nothing, which is most of a service's start and of its
// ExecStopPost= (docs/cli.md, "Attached runs are scopes"). The container
// is still a unit that systemctl shows and stops, with its cgroup limits,
// registered with machined; the shim confines itself as in a service.
// A published port needs a socket unit and so a service; so does a
// restart policy, and -d.

// runScopePath marks a run container whose scope holds it: while the file
// is there, its unit is NAME.scope (unitgen.Definition.Scope).
func runScopePath(name string) string { return path.Join(runDir, name+".scope") }

// runsInScope reports whether a run goes to a scope.
func runsInScope(detach bool, def *unitgen.Definition) bool {
	return !detach && len(def.Sockets) == 0 && (def.Service.Restart == "" || def.Service.Restart == "no")
}

// containerUnit is the unit a container runs as: NAME.scope while an
// attached run's scope holds it, NAME.service otherwise.
func containerUnit(fsys fs.FS, name string) string {
	if _, err := fs.Stat(fsys, inFS(runScopePath(name))); err == nil {
		return name + ".scope"
	}
	return name + ".service"
}

// unitTypeProperties returns the properties of a container's unit as a
// service has them: a scope's, with MainPID the container's init (machined's
// leader) and ExecMainStartTimestamp when the scope started.
func unitTypeProperties(ctx context.Context, conn *sd.Conn, unit string) (map[string]any, error) {
	if !strings.HasSuffix(unit, ".scope") {
		return conn.GetUnitTypePropertiesContext(ctx, unit, "Service")
	}
	props, err := conn.GetUnitTypePropertiesContext(ctx, unit, "Scope")
	if err != nil {
		return nil, err
	}
	if pid, err := scopeLeader(strings.TrimSuffix(unit, ".scope")); err == nil {
		props["MainPID"] = pid
	}
	if p, err := conn.GetUnitPropertyContext(ctx, unit, "ActiveEnterTimestamp"); err == nil {
		props["ExecMainStartTimestamp"] = p.Value.Value()
	}
	return props, nil
}

// scopeLeader is the init of the container in an attached run's scope,
// which is not the unit's main process (a scope has none) but machined's
// leader of it.
func scopeLeader(name string) (uint32, error) {
	m, err := machined.New()
	if err != nil {
		return 0, err
	}
	defer m.Close()
	return m.Leader(machined.Name(name))
}

// scopeShim is the shim of an attached run, started as early as this
// command knows the container's name, so that its start overlaps this
// command's work and the making of the scope. It waits on a pipe: for a
// "d" once the definition is written, then for an "s" once it is in the
// scope (cmd/dockah-activate/scope.go).
type scopeShim struct {
	cmd     *exec.Cmd
	tell    *os.File
	adopted bool // runScoped took it over
}

// scopeRunFlags reports, from the flags alone, whether the run will go to
// a scope (runsInScope of the definition they make).
func scopeRunFlags(o runOptions) bool {
	return !o.detach && len(o.publish) == 0 && (o.restart == "" || o.restart == "no")
}

// startScopeShim starts the shim for the run container name. tty, if not
// nil, is its terminal; otherwise it has this command's output, and its
// input with stdin.
func startScopeShim(name, store string, ended []string, stdin bool, tty *os.File) (*scopeShim, error) {
	wait, tell, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer wait.Close()
	cmd := exec.Command(shimPath, "--definition", runDefinitionPath(name), name)
	cmd.Env = scopeEnvironment(store, ended)
	cmd.ExtraFiles = []*os.File{wait} // fd 3
	// A group of its own: the terminal's Ctrl-C comes to this command,
	// which stops the scope; with -t, a session whose terminal it is.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if tty != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		if stdin {
			cmd.Stdin = os.Stdin
		}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		tell.Close()
		return nil, fmt.Errorf("start %s: %w", shimPath, err)
	}
	activation.Trace("run: shim forked")
	return &scopeShim{cmd: cmd, tell: tell}, nil
}

// say tells the shim to go on.
func (s *scopeShim) say(what byte) error {
	if _, err := s.tell.Write([]byte{what}); err != nil {
		return fmt.Errorf("the shim: %w", err)
	}
	return nil
}

// abandon ends a shim that runScoped did not take over: the run failed
// before it started.
func (s *scopeShim) abandon() {
	if s == nil || s.adopted {
		return
	}
	// Killed before its pipe closes: it must not take the close for a
	// client gone, and say so (the lean build hands a run to the full
	// one this way, dispatch.go).
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.tell.Close()
}

// runScoped runs the container in a scope, with the shim started early
// (nil: started now, on tty if not nil), and waits for its end.
func (r *transientRun) runScoped(ctx context.Context, shim *scopeShim, tty *os.File) (err error) {
	scope := r.name + ".scope"
	// The marker is locked while this command lives: a scope that ended
	// with its marker unlocked had nobody to record its end.
	marker, err := os.OpenFile(runScopePath(r.name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer marker.Close()
	defer os.Remove(marker.Name())
	if err := unix.Flock(int(marker.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("lock %s: %w", marker.Name(), err)
	}
	// Signals are caught before the container can exist.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(interrupts)
	if shim == nil {
		// Started now, once the definition is written; a shim started
		// early was told so then (runContainerOrFail).
		if shim, err = startScopeShim(r.name, r.store, r.endedCommand(), r.stdin, tty); err != nil {
			return err
		}
		if err := shim.say('d'); err != nil {
			shim.abandon()
			return err
		}
	}
	shim.adopted = true
	defer shim.tell.Close()
	// The name's service is looked up first; a scope of the name that
	// exists fails the start itself (a look-up less). Not at the same
	// time: a scope made for a name that is taken would stay a moment
	// after its shim was killed, and be in the way of the next run.
	// A name of randomName's is not a unit's of the host: no look-up.
	var taken error
	if !r.namedByUs {
		taken = checkUnitsFree(ctx, r.conn, r.name+".service")
	}
	inUse := taken != nil
	if inUse {
		err = taken
	} else {
		err = r.wait(ctx, "start "+scope, func(ch chan<- string) error {
			_, err := r.conn.StartTransientUnitContext(ctx, scope, "fail", r.scopeProperties(shim.cmd.Process.Pid), ch)
			return err
		})
		if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
			err, inUse = unitInUse(scope), true
		}
	}
	scopeStarted := err == nil
	if scopeStarted {
		err = shim.say('s')
	}
	if err != nil {
		_ = shim.cmd.Process.Kill()
		werr := shim.cmd.Wait()
		var exitErr *exec.ExitError
		if scopeStarted && errors.As(werr, &exitErr) && exitErr.ExitCode() > 0 {
			// The shim failed on its own before it was told to go on,
			// and said why on stderr: the run ends with its status, as
			// when it fails later. Its scope goes too, before the
			// command returns (the name is free for a run at once):
			// systemd 252 keeps a scope whose process had ended by the
			// time it was moved there running, empty, for good.
			r.stopScope()
			if err := r.recordScopeEnd("exited", exitErr.ExitCode()); err != nil {
				fmt.Fprintf(os.Stderr, "dockah: %s: %v\n", r.name, err)
			}
			return exitStatusError{exitErr.ExitCode()}
		}
		if inUse {
			// The name is another unit's: nothing of this run stays
			// (the shim may have made the writable layer already).
			_ = endRun(r.store, r.name, true, exitStatus{})
		}
		return err
	}
	shim.tell.Close()
	activation.Trace("run: started")
	// Ctrl-C stops the scope the way systemctl stop does: its stop signal
	// to everything in it, SIGKILL at its stop timeout.
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		for {
			select {
			case <-interrupts:
				_, _ = r.conn.StopUnitContext(context.Background(), scope, "replace", nil)
			case <-ended:
				return
			}
		}
	}()
	werr := shim.cmd.Wait()
	activation.Trace("run: unit ended")
	status, how := 0, "exited"
	var exitErr *exec.ExitError
	switch {
	case errors.As(werr, &exitErr):
		ws, _ := exitErr.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			// The shim itself was killed (the scope's SIGKILL at its
			// stop timeout): so was the container.
			status, how = int(ws.Signal()), "killed"
		} else {
			status = exitErr.ExitCode()
		}
	case werr != nil:
		return werr
	}
	if how == "exited" && status == activation.ExitSetupFailed {
		// The shim failed in its scope before the container ran (or the
		// container ended with the same status): the scope goes before
		// the command returns, as when the shim fails sooner, rather
		// than whenever systemd notices it empty: in CI's box of the
		// hybrid layout, once more than 10 s later.
		r.stopScope()
	}
	if err := r.recordScopeEnd(how, status); err != nil {
		fmt.Fprintf(os.Stderr, "dockah: %s: %v\n", r.name, err)
	}
	switch {
	case how == "killed":
		return exitStatusError{128 + status}
	case status != 0:
		return exitStatusError{status}
	}
	return nil
}

// stopScope stops the run's scope and waits for it to be gone. Its
// errors are not the run's: a scope that is gone already cannot be
// stopped.
func (r *transientRun) stopScope() {
	scope := r.name + ".scope"
	_ = r.wait(context.Background(), "stop "+scope, func(ch chan<- string) error {
		_, err := r.conn.StopUnitContext(context.Background(), scope, "replace", ch)
		return err
	})
}

// scopeEnvironment is the shim's: this command's, less what systemd
// passes a service, with the store, the pipe of the scope, and the
// command that records the end should this command be gone by then.
func scopeEnvironment(store string, ended []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "DOCKAH_ROOT", "DOCKAH_PLAN":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "DOCKAH_ROOT="+store, "DOCKAH_SCOPE_FD=3", "DOCKAH_SCOPE_ENDED="+strings.Join(ended, "\n"))
}

// scopeProperties are the scope's: the shim, the limits and stop settings
// of a generated unit, and those of its sandbox that are the cgroup's
// (device and IP access lists; the device list by way of its slice when
// it is the default one); the others are a spawned process's, which the
// container gets from its own policy and the shim from its own
// confinement.
func (r *transientRun) scopeProperties(pid int) []sd.Property {
	props := []sd.Property{
		sd.PropDescription("dockah run " + r.name + " (" + r.def.Container.Image + ")"),
		sd.PropPids(uint32(pid)),
		{Name: "CollectMode", Value: dbus.MakeVariant("inactive-or-failed")},
	}
	for _, p := range serviceSettings(r.def) {
		switch p.Name {
		case "Restart", "SuccessExitStatus":
			continue
		}
		props = append(props, p)
	}
	// The device access list is the slice's when it is the default one
	// (unitgen.ContainerSlice), and the scope's own otherwise.
	inSlice := unitgen.DevicesAsSlice(unitgen.Sandbox(r.def)) && sliceDefined()
	if inSlice {
		props = append(props, sd.Property{Name: "Slice", Value: dbus.MakeVariant(unitgen.ContainerSlice)})
	}
	for _, p := range r.sandbox {
		switch p.Name {
		case "DevicePolicy", "DeviceAllow":
			if !inSlice {
				props = append(props, p)
			}
		case "IPAddressDeny", "IPAddressAllow":
			props = append(props, p)
		}
	}
	return props
}

// sliceUnitFile is where dockah-generator writes unitgen.ContainerSlice.
var sliceUnitFile = "/run/systemd/generator/" + unitgen.ContainerSlice

// cgroupRoot is where the cgroup hierarchies are mounted.
var cgroupRoot = "/sys/fs/cgroup"

// sliceDefined reports whether the slice's device list holds the scopes
// in it: systemd has the slice as dockah-generator writes it (the
// generator's output is there only once systemd has run the generators,
// and it loads their units then; without it, dockah installed and no
// daemon-reload since, a scope that named the slice would get one systemd
// makes up, without the list), and the cgroup layout is unified, where
// the slice's BPF program applies to every cgroup below it. With the v1
// devices controller (the hybrid and legacy layouts) systemd leaves a
// scope that asks for no device list out of the slice's devices cgroup.
// Either way, the scope then carries the list itself.
func sliceDefined() bool {
	var fs unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &fs); err != nil || fs.Type != unix.CGROUP2_SUPER_MAGIC {
		return false
	}
	_, err := os.Stat(sliceUnitFile)
	return err == nil
}

// recordScopeEnd does what a run service's ExecStopPost= run-ended does:
// how the container ended, kept for ps -a, or with --rm its removal.
func (r *transientRun) recordScopeEnd(how string, status int) error {
	result := "success"
	switch {
	case how == "killed":
		result = "signal"
	case status != 0:
		result = "exit-code"
	}
	now := time.Now()
	err := endRun(r.store, r.name, r.remove, exitStatus{How: how, Status: int32(status), Result: result, At: &now})
	r.removed = r.remove && err == nil
	return err
}

// unrecordedScopeEnd is how a run container ended whose attached run's
// scope is over with nobody to record it: its client had gone (the marker
// is not locked) and the shim, which then records the end, was killed
// with the rest of the scope, by SIGKILL (at the stop timeout, or by
// hand). Nil when that is not the case.
func unrecordedScopeEnd(name string) *exitStatus {
	f, err := os.Open(runScopePath(name))
	if err != nil {
		return nil
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil {
		return nil // the client lives, and records the end itself
	}
	return &exitStatus{How: "killed", Status: int32(unix.SIGKILL), Result: "signal"}
}
