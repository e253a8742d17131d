package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/activation/confine"
	"github.com/dockah/dockah/activation/forward"
	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/cmd/internal/unitwatch"
	"github.com/dockah/dockah/machined"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

// exitConfig (EX_CONFIG) is the exit status for a start that cannot work
// until someone changes something: a bad definition, a missing image. The
// generated unit lists it in RestartPreventExitStatus=, so systemd does not
// restart in a loop.
const exitConfig = 78

// prepare loads the definition and the image and computes the container's
// configuration (package launch, which the CLI's exec shares); an error
// restarting will not fix is a launch.ConfigError. definitionFile is set
// for a container of "dockah run".
func prepare(name, definitionFile string, sockets []string, mode launch.Mode) (*launch.Prepared, error) {
	o := launch.Options{
		Mode: mode, Definitions: definitionFS, DefinitionFile: definitionFile,
		StoreRoot: launch.StoreRoot(), Sockets: sockets,
		NotifySocket: os.Getenv(activation.NotifySocketEnv),
		Log:          func(msg string) { logLine(name, msg) },
		// DOCKAH_PLAN=0 in the unit's environment computes every start
		// afresh, to compare or to rule the plan out.
		Plans: mode == launch.ModeStart && os.Getenv("DOCKAH_PLAN") != "0",
	}
	if mode == launch.ModeStart {
		o.Confine = func(def *unitgen.Definition) error { return confineShim(def, definitionFile != "") }
	}
	return launch.Prepare(name, o)
}

// confineShim builds the shim's own sandbox (unit_sandbox = "shim", the
// default), the equivalent of the mount-namespace directives the unit
// leaves out, before anything of the image is read. Under systemd's
// directives (unit_sandbox = "systemd") there is nothing to add. A
// transient container's (dockah run's) records its user namespace range
// under /run (launch.VolatileUserNSDir), which stays writable.
func confineShim(def *unitgen.Definition, transient bool) error {
	s, own := def.ShimSandbox()
	if !own {
		return nil
	}
	writable := s.Writable
	if transient {
		dir, err := launch.VolatileUserNSDir(launch.StoreRoot())
		if err == nil {
			err = os.MkdirAll(dir, 0o700)
		}
		if err != nil {
			return fmt.Errorf("confine the shim: %w", err)
		}
		writable = append(slices.Clip(writable), dir)
	}
	err := confine.Shim(confine.ShimOptions{
		Store: launch.StoreRoot(), Writable: writable,
		Hidden: s.Hidden, Private: s.Private, Masked: s.Masked,
	})
	if errors.Is(err, confine.ErrNotSupported) {
		// Restarting will not fix the kernel.
		return launch.ConfigError{Err: fmt.Errorf("confine the shim: %w; [security] unit_sandbox = \"systemd\" has systemd confine it instead", err)}
	}
	if err != nil {
		return fmt.Errorf("confine the shim: %w", err)
	}
	activation.Trace("shim: confined")
	return nil
}

// logLine writes one line to the journal (the shim's stderr). A leading
// "<N>" priority is moved to the front of the line, where journald reads it.
func logLine(name, msg string) {
	prefix := ""
	if len(msg) > 3 && msg[0] == '<' && msg[2] == '>' {
		prefix, msg = msg[:3], msg[3:]
		// Debug notes are for the journal, which files them at debug
		// priority; on a terminal ("dockah run") they are noise.
		if prefix == "<7>" && !stderrIsJournal() {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "%sdockah-activate: %s: %s\n", prefix, name, msg)
}

// start runs the container. Under systemd it returns as soon as the
// entrypoint runs, after handing systemd the container's pid; by hand
// (no NOTIFY_SOCKET) it waits and returns the container's exit status.
// With forwarded sockets it stays, as the forwarder, until the container
// ends.
func start(name, definitionFile string) (status int, err error) {
	defer func() {
		if err != nil {
			auditStartFailed(name, err)
		}
	}()
	activation.Trace("shim: running")
	scope, err := scopeFromEnv()
	if err != nil {
		return 0, err
	}
	if scope != nil {
		if err := scope.waitFor('d'); err != nil {
			return 0, err
		}
	}
	files, names := passedSockets()
	prep, err := prepare(name, definitionFile, names, launch.ModeStart)
	if err != nil {
		return 0, err
	}
	activation.Trace("shim: prepared")
	// The plan computed for this start, if any, is stored for the next
	// while the container is built: not after, when systemd may already
	// be killing what is left in the unit of a container that ended.
	planSaved := make(chan struct{})
	go func() {
		defer close(planSaved)
		if err := prep.SavePlan(); err != nil {
			logLine(name, "<7>start plan not stored: "+err.Error())
		}
	}()
	defer func() { <-planSaved }()
	attach, addr, err := joinNetworks(name, prep)
	if err != nil {
		return 0, err
	}
	var inside []*os.File
	var forwards []forward.Socket
	for _, p := range prep.Sockets {
		if p.Port == 0 {
			inside = append(inside, files[p.Index])
		} else {
			forwards = append(forwards, forward.Socket{Listener: files[p.Index], Port: p.Port, Datagram: p.Datagram})
		}
	}
	// A forwarder starts as soon as the container's network namespace
	// exists (on the thread start), while the root is built.
	var early *earlyForwarder
	if len(forwards) > 0 {
		early = newEarlyForwarder(name, forwards)
	}
	// The bus connection to machined is made while the root is built.
	machine := make(chan machineConn, 1)
	go func() {
		conn, err := machined.New()
		activation.Trace("shim: connected to the bus")
		machine <- machineConn{conn, err}
	}()
	registered := make(chan error, 1)
	var pid int // the init's, from Started
	state := func() string {
		s := fmt.Sprintf("MAINPID=%d", pid)
		if !prep.Container.Notify {
			s += "\nREADY=1"
		}
		return s
	}
	byHand := false
	var barrier *activation.Barrier
	if scope != nil {
		// While systemd makes the scope, the layers earlier runs
		// discarded are removed (rootfs.Store.SweepDiscarded).
		stop, swept := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(swept)
			store, err := rootfs.Open(launch.StoreRoot())
			if err == nil {
				err = store.SweepDiscarded(stop)
			}
			if err != nil {
				logLine(name, "<7>"+err.Error())
			}
		}()
		err := scope.waitFor('s')
		close(stop)
		if err != nil {
			return 0, err
		}
		activation.Trace("shim: in its scope")
		defer func() { <-swept }()
	}
	var netnsCreated func(*os.File)
	if early != nil {
		netnsCreated = early.start
	}
	c, err := activation.Start(prep.Config, activation.StartOptions{
		Sockets:      inside,
		Network:      attach,
		NetNSCreated: netnsCreated,
		Started: func(initPid int) {
			pid = initPid
			go func() { registered <- register(name, initPid, machine) }()
		},
		// systemd learns the container's pid, and that it is ready,
		// before the entrypoint runs: one that exits at once still
		// gives the unit its exit status, and systemctl start returns
		// with the container registered (machinectl shows it). A
		// forwarded container is ready once its application listens
		// (serveForwards).
		BeforeExec: func() error {
			if err := <-registered; err != nil {
				logLine(name, "not registered with systemd-machined: "+err.Error())
			}
			activation.Trace("shim: registered")
			if len(forwards) > 0 {
				return nil
			}
			// The state is queued before the entrypoint can run; the
			// wait for systemd to read it is the shim's, after the
			// container is on its way.
			b, err := activation.NotifyAsync(state())
			if errors.Is(err, activation.ErrNoNotifySocket) {
				byHand = true
				return nil
			}
			barrier = b
			return err
		},
		// Under systemd the container is systemd's child, not ours.
		Sibling: os.Getenv(activation.NotifySocketEnv) != "",
	})
	if err != nil {
		if barrier != nil {
			_ = barrier.Wait(time.Second)
		}
		early.abandon()
		return 0, err
	}
	activation.Trace("shim: started")
	if barrier != nil {
		if err := barrier.Wait(10 * time.Second); err != nil {
			return 0, err
		}
		activation.Trace("shim: notified")
	}
	if len(forwards) > 0 {
		return 0, serveForwards(name, prep, c, early, forwards, addr, state())
	}
	auditStarted(name, prep, c.Pid)
	if byHand && scope != nil {
		done := make(chan struct{})
		go scope.forward(c.Pid, done)
		status, err := c.Wait()
		close(done)
		if err == nil {
			scope.end(name, prep, status)
		}
		return status, err
	}
	if byHand {
		return c.Wait()
	}
	return 0, nil
}

// waitActive waits until systemd reports the unit active: for a notify
// container, once the application has sent READY=1.
func waitActive(unit string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := sd.NewSystemConnectionContext(ctx)
	if err != nil {
		return fmt.Errorf("wait for READY=1: %w", err)
	}
	defer conn.Close()
	err = unitwatch.New(conn, unit).Until(ctx, func() (bool, error) {
		p, err := conn.GetUnitPropertyContext(ctx, unit, "ActiveState")
		return err == nil && p.Value.Value() == "active", nil
	})
	if err != nil {
		return fmt.Errorf("the application listened but did not report READY=1 within %s", timeout)
	}
	return nil
}

// readyTimeout is how long the application may take to listen: a second
// less than the unit's start timeout, so the journal says why the start
// failed before systemd gives up on it.
func readyTimeout(start time.Duration) time.Duration {
	switch {
	case start == unitgen.Infinity:
		return 24 * time.Hour
	case start == 0:
		return 60 * time.Second // systemd's default start timeout is 90s
	case start > 2*time.Second:
		return start - time.Second
	}
	return start / 2
}

// stopUnit asks systemd to stop the container's service after its idle
// timeout; its socket units stay and start it again on demand.
func stopUnit(name, unit string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := sd.NewSystemConnectionContext(ctx)
	if err != nil {
		logLine(name, "idle: connect to systemd: "+err.Error())
		return
	}
	defer conn.Close()
	if _, err := conn.StopUnitContext(ctx, unit, "replace", nil); err != nil {
		logLine(name, "idle: stop "+unit+": "+err.Error())
	}
}

// stderrIsJournal reports whether stderr is the journal stream systemd
// connected: JOURNAL_STREAM names its device and inode.
func stderrIsJournal() bool {
	var st unix.Stat_t
	if unix.Fstat(2, &st) != nil {
		return false
	}
	return os.Getenv("JOURNAL_STREAM") == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// machineConn is a connection to systemd-machined, or why there is none.
type machineConn struct {
	conn *machined.Conn
	err  error
}

func register(name string, pid int, machine <-chan machineConn) error {
	m := <-machine
	if m.err != nil {
		return m.err
	}
	defer m.conn.Close()
	return m.conn.Register(machined.Machine{
		Name: machined.Name(name), Service: "dockah", Class: "container", Leader: pid,
	})
}

// passedSockets takes the sockets systemd passed (sd_listen_fds): fds 3
// and on, with their names. They are handed on as they are, so they must
// not be closed on exec.
func passedSockets() ([]*os.File, []string) {
	pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID"))
	count, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if pid != os.Getpid() || count <= 0 {
		return nil, nil
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	files := make([]*os.File, count)
	out := make([]string, count)
	for i := range files {
		files[i] = os.NewFile(uintptr(3+i), "socket")
		out[i] = "unknown"
		if i < len(names) && names[i] != "" {
			out[i] = names[i]
		}
	}
	return files, out
}
