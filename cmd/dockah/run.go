package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/cmd/internal/unitwatch"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

// runDir holds the definitions of containers started by "dockah run". It
// is not on the generator's search path: these containers are transient
// units, not generated ones.
const runDir = "/run/dockah/run"

func newRunCommand(g *globalOptions) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND [ARG...]]",
		Short: "Run an image now, as a transient systemd unit",
		Long: `Run a container of IMAGE now, with the same setup as a defined container,
as a transient systemd service started through systemd's D-Bus API. Its
output appears on the terminal, its exit status is the command's, and
Ctrl-C stops it. With -d it runs on: the name is printed, the output goes to
the journal (dockah logs NAME), and dockah stop, kill, exec, inspect and ps
work on it as on a defined container.

The flags mean what they mean to docker run and podman run; each becomes a
key of the container's definition (see dockah inspect NAME), and one that
dockah cannot honour is an error. The image is pulled first when the store
does not have it (--pull).

-p HOST:CONTAINER listens on HOST (a port, ADDR:PORT or [ADDR]:PORT) through
a transient socket unit and forwards each connection to CONTAINER inside the
container, which has no network but loopback.

A container that ends stays listed by dockah ps -a with how it ended, and
keeps its name and writable layer, until dockah rm NAME (or --rm).

The exit status is the container's, or 125 when dockah itself failed, 126
when the command cannot be run and 127 when it is not found, as podman run.

The transient service has the sandbox of a generated one (ProtectSystem=strict,
the capability bounding set, system call filters, PrivateNetwork=, ...):
systemctl show NAME.service and systemd-analyze security NAME.service show it.`,
		Example: `  dockah run hello:latest
  dockah run --rm busybox:latest echo "Hello, World!"
  dockah run --rm -it busybox:latest sh
  dockah run -d --name web -p 127.0.0.1:8080:80 --read-only --tmpfs /run --tmpfs /var/cache/nginx nginx:latest
  dockah run --rm -v data:/data -v ./config:/etc/app:ro -u 1000 -w /data -m 256m --cpus 1.5 app:1
  dockah run --rm --entrypoint /bin/sh --cap-drop ALL --security-opt seccomp=unconfined alpine -c id`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainer(cmd, g, o, args[0], args[1:])
		},
	}
	cmd.Flags().SetInterspersed(false) // flags after IMAGE belong to COMMAND
	o.addFlags(cmd.Flags())
	o.registry.add(cmd.Flags())
	return cmd
}

// randomName is a run container's name without --name: "run-" and 8
// hex digits. It is nobody else's unit: systemd-run's transient units are
// run-u, run-r or run-p and more (u, r, p are not hex digits), and the
// chance of a clash with another dockah run's is 2^-32, which its
// definition (checkNameFree) or its scope's start refuses all the same.
// The runtime's generator (randomly seeded in each process) is enough for
// a name and, unlike crypto/rand's first read, costs the start nothing.
func randomName() string {
	return fmt.Sprintf("run-%08x", rand.Uint32())
}

// checkNameFree refuses a name that a container has here: a definition,
// a run container that has not been removed, or a writable layer left by
// an earlier container, which a new one would silently reuse. It needs no
// systemd, and runs while the connection to it is made; checkUnitsFree
// asks systemd about the units.
func checkNameFree(fsys fs.FS, store *rootfs.Store, name string) error {
	if _, err := unitgen.LoadUnit(fsys, name); !errors.Is(err, unitgen.ErrNotFound) {
		return fmt.Errorf("the name %s is in use: a container named %s is defined in %s; choose another --name", name, name, strings.Join(unitgen.SearchPath(), ", "))
	}
	if _, err := fs.Stat(fsys, inFS(runDefinitionPath(name))); err == nil {
		return fmt.Errorf("the name %s is in use by a container of dockah run; remove it first (dockah rm %s) or choose another --name", name, name)
	}
	upper, err := store.ContainerUpper(name)
	if err != nil {
		return fmt.Errorf("--name %s: %w", name, err)
	}
	if _, err := os.Stat(filepath.Dir(upper)); err == nil {
		return fmt.Errorf("the name %s is in use: an earlier container %s left its writable layer; remove it (dockah rm %s) or choose another --name", name, name, name)
	}
	return nil
}

// checkUnitsFree refuses a name whose unit is loaded: a unit of the
// host's own, not a container, that systemctl would confuse with it.
func checkUnitsFree(ctx context.Context, conn *sd.Conn, units ...string) error {
	for _, unit := range units {
		if p, err := conn.GetUnitPropertyContext(ctx, unit, "LoadState"); err == nil && strings.Trim(p.Value.String(), `"`) == "loaded" {
			return unitInUse(unit)
		}
	}
	return nil
}

// unitInUse is the error for a name whose unit exists.
func unitInUse(unit string) error {
	name := strings.TrimSuffix(strings.TrimSuffix(unit, ".service"), ".scope")
	return fmt.Errorf("the name %s is in use: the unit %s exists; choose another --name", name, unit)
}

// pendingConn is a connection to systemd being made.
type pendingConn struct {
	done chan struct{}
	conn *sd.Conn
	err  error
}

// dialSystemd starts connecting to systemd (openSystemd).
func dialSystemd(ctx context.Context) *pendingConn {
	p := &pendingConn{done: make(chan struct{})}
	go func() {
		p.conn, p.err = openSystemd(ctx)
		close(p.done)
	}()
	return p
}

// busSystemd connects to systemd through the system bus, as
// sd.NewSystemConnectionContext does but on one connection: go-systemd
// asks its dial function for two, one for calls and one for the signals
// it follows jobs with, and each costs a handshake and a Hello. On the
// bus, dbus-daemon passes on only the signals asked for (go-systemd's
// match for JobRemoved), and systemd itself accepts no connection: a
// handshake with dbus-daemon takes 0.5 ms here, one with systemd's own
// socket 1.4 ms, most of it systemd's.
func busSystemd(ctx context.Context) (*sd.Conn, error) {
	return oneConnection(func() (*dbus.Conn, error) {
		c, err := dbus.SystemBusPrivate(dbus.WithContext(ctx)) // $DBUS_SYSTEM_BUS_ADDRESS, or the usual socket
		if err != nil {
			return nil, err
		}
		if err := authenticate(c); err != nil {
			return nil, err
		}
		if err := c.Hello(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
}

// privateSystemd connects to systemd's own socket, as
// sd.NewSystemdConnectionContext does but once. There, systemd sends
// every signal to every client, which asked for them or not.
func privateSystemd(ctx context.Context) (*sd.Conn, error) {
	return oneConnection(func() (*dbus.Conn, error) {
		c, err := dbus.Dial("unix:path=/run/systemd/private", dbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		return c, authenticate(c)
	})
}

// oneConnection makes go-systemd's connection of one D-Bus connection,
// for its calls and its signals alike.
func oneConnection(dial func() (*dbus.Conn, error)) (*sd.Conn, error) {
	var conn *dbus.Conn
	return sd.NewConnection(func() (*dbus.Conn, error) {
		if conn != nil {
			return conn, nil
		}
		c, err := dial()
		if err != nil {
			return nil, fmt.Errorf("connect to systemd: %w", err)
		}
		conn = c
		return c, nil
	})
}

// authenticate is EXTERNAL with the uid, as go-systemd: no user name
// lookup.
func authenticate(c *dbus.Conn) error {
	if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		c.Close()
		return err
	}
	return nil
}

// get waits for the connection.
func (p *pendingConn) get() (*sd.Conn, error) {
	<-p.done
	return p.conn, p.err
}

// Close closes the connection once it is made.
func (p *pendingConn) Close() {
	if conn, _ := p.get(); conn != nil {
		conn.Close()
	}
}

// runFailure marks an error of dockah's own, which exits 125 as podman's.
type runFailure struct{ err error }

func (e runFailure) Error() string { return e.err.Error() }
func (e runFailure) Unwrap() error { return e.err }

func runContainer(c *cobra.Command, g *globalOptions, o runOptions, image string, command []string) error {
	err := runContainerOrFail(c, g, o, image, command)
	var status exitStatusError
	if err != nil && !errors.As(err, &status) {
		return runFailure{err}
	}
	return err
}

func runContainerOrFail(c *cobra.Command, g *globalOptions, o runOptions, image string, command []string) error {
	ctx := c.Context()
	if o.detach && (o.interactive || o.tty) {
		return errors.New("-d runs the container without a terminal or input: leave out -i and -t (dockah exec -it NAME sh opens a shell in it)")
	}
	// The connection to systemd is made while the definition is built.
	scoped := scopeRunFlags(o)
	if scoped {
		primeCgroupMove()
	}
	systemd := dialSystemd(ctx)
	defer systemd.Close()
	namedByUs := o.name == ""
	if namedByUs {
		o.name = randomName()
	}
	// The shim of an attached run starts now, and waits for the
	// definition, then for its scope (run_scope.go). With -t it starts
	// once the terminal is made.
	var early *scopeShim
	if scoped && !o.tty {
		cli, err := os.Executable()
		if err != nil {
			return err
		}
		early, err = startScopeShim(o.name, g.storeRoot, runEndedCommand(cli, g.storeRoot, o.name, o.remove, false), o.interactive, nil)
		if err != nil {
			return err
		}
		defer early.abandon()
	}
	data, err := buildRunDefinition(o, image, command, hostRunEnv())
	if err != nil {
		return err
	}
	path := runDefinitionPath(o.name)
	def, err := unitgen.Parse(o.name, unitgen.File{Path: path, Data: data})
	if err != nil {
		return err
	}
	sandbox, err := sandboxProperties(def, g.storeRoot)
	if err != nil {
		return err
	}
	activation.Trace("run: definition built")
	store, err := openStore(g)
	if err != nil {
		return err
	}
	// What needs no systemd is done while the connection is made.
	if err := checkNameFree(os.DirFS("/"), store, o.name); err != nil {
		return err
	}
	activation.Trace("run: name free")
	if err := pullForRun(c, g, o, image); err != nil {
		return err
	}
	activation.Trace("run: image present")
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(path, func(f *os.File) error { _, err := f.Write(data); return err }); err != nil {
		return err
	}
	activation.Trace("run: definition written")
	if early != nil {
		// The shim prepares the container while systemd is asked for
		// the scope.
		if err := early.say('d'); err != nil {
			return err
		}
	}
	conn, err := systemd.get()
	if err != nil {
		os.Remove(path)
		return err
	}
	activation.Trace("run: connected to systemd")
	if !runsInScope(o.detach, def) && !namedByUs {
		// An attached run checks its units as it makes its scope
		// (runScoped); randomName's are nobody's.
		if err := checkUnitsFree(ctx, conn, o.name+".service", o.name+".scope"); err != nil {
			os.Remove(path)
			return err
		}
	}
	cli, err := os.Executable()
	if err != nil {
		return err
	}
	r := &transientRun{
		conn: conn, name: o.name, def: def, definition: path, store: g.storeRoot, stdin: o.interactive,
		detach: o.detach, remove: o.remove, cli: cli, sandbox: sandbox, namedByUs: namedByUs,
	}
	if o.detach {
		err := r.start(ctx)
		if err != nil {
			failure := r.startFailure(ctx, err)
			r.cleanUpFailedStart()
			if failure != err {
				// The shim's word on it is in the journal only.
				fmt.Fprintf(c.ErrOrStderr(), "dockah: %v\n", err)
			}
			return failure
		}
		fmt.Fprintln(c.OutOrStdout(), o.name)
		return nil
	}
	if o.remove {
		// Once the unit is gone, so is the container, even if the unit
		// never got to its ExecStopPost=.
		defer func() {
			if !r.removed {
				_ = removeRunContainer(store, o.name, false)
			}
		}()
	}
	if o.tty {
		master, slave, err := activation.HostTerminal(os.Stdin, os.Stdout)
		if err != nil {
			return err
		}
		r.tty = slave.Name()
		var in io.Reader
		if o.interactive {
			in = os.Stdin
		}
		relayed := make(chan struct{})
		go func() { activation.RelayTerminal(master, in, os.Stdout); close(relayed) }()
		if runsInScope(o.detach, def) {
			err = r.runScoped(ctx, nil, slave)
		} else {
			err = r.run(ctx)
		}
		// The container is gone: with our slave side closed too, the
		// relay reads the last output, then EIO.
		slave.Close()
		select {
		case <-relayed:
		case <-time.After(2 * time.Second):
		}
		return err
	}
	if runsInScope(o.detach, def) {
		return r.runScoped(ctx, early, nil)
	}
	return r.run(ctx)
}

// pullForRun pulls the image as --pull says, before anything starts.
func pullForRun(c *cobra.Command, g *globalOptions, o runOptions, image string) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	if o.pull == "missing" || o.pull == "never" {
		// The common case costs one lookup, and no registry configuration.
		if _, err := st.Resolve(image); err == nil {
			return nil
		}
	}
	return pullImageForRun(c, g, o, st, image)
}

// transientRun is one container run as transient units.
type transientRun struct {
	conn       *sd.Conn
	name       string
	def        *unitgen.Definition
	definition string
	store      string
	stdin      bool
	tty        string // the terminal's path with -t
	detach     bool   // -d: output to the journal, nobody waits
	remove     bool   // --rm
	namedByUs  bool   // no --name: randomName's
	removed    bool   // --rm, and the container was removed at its end
	cli        string // this program, the units' ExecStopPost=
	// sandbox is the generated units' sandbox (ProtectSystem=strict,
	// the capability bounding set, system call filters, ...).
	sandbox []sd.Property
}

func (r *transientRun) service() string { return r.name + ".service" }
func (r *transientRun) socket() string  { return r.name + ".socket" }

// systemdWritable are the paths of /run a run's service writes in
// under systemd's sandbox: the run's definitions, and the record of its
// user namespace range (launch.VolatileUserNSDir), made here if missing,
// since systemd refuses a unit whose ReadWritePaths= do not exist.
func (r *transientRun) systemdWritable() []string {
	paths := []string{runDir}
	if dir, err := launch.VolatileUserNSDir(r.store); err == nil && os.MkdirAll(dir, 0o700) == nil {
		paths = append(paths, dir)
	}
	return paths
}

// start starts the container's units and waits for the start jobs.
func (r *transientRun) start(ctx context.Context) error {
	if len(r.def.Sockets) == 0 {
		return r.startTransient(ctx, r.service(), r.serviceProperties())
	}
	// Both units are made in one call: the service, started at once
	// (docker run semantics, not on the first connection), and its
	// socket as an auxiliary unit that the service requires, so that
	// the socket listens first and passes its sockets. (The other way
	// round, systemd drops an auxiliary service's standard output and
	// error file descriptors, and the output would go to the journal.)
	props := append(r.serviceProperties(),
		sd.Property{Name: "Requires", Value: dbus.MakeVariant([]string{r.socket()})},
		sd.Property{Name: "After", Value: dbus.MakeVariant([]string{r.socket()})})
	aux := []sd.PropertyCollection{{Name: r.socket(), Properties: r.socketProperties()}}
	return r.startTransient(ctx, r.service(), props, aux...)
}

// startFailure is the error of a start that failed: the status of a
// command that could not be found (127) or run (126), which the shim
// exits with, as podman run; otherwise err, a failure of dockah's own.
func (r *transientRun) startFailure(ctx context.Context, err error) error {
	code, cerr := r.conn.GetServicePropertyContext(ctx, r.service(), "ExecMainCode")
	status, serr := r.conn.GetServicePropertyContext(ctx, r.service(), "ExecMainStatus")
	if cerr != nil || serr != nil {
		return err
	}
	const cldExited = 1
	c, _ := code.Value.Value().(int32)
	s, _ := status.Value.Value().(int32)
	if c == cldExited && (s == activation.ExitNotFound || s == activation.ExitCannotRun) {
		return exitStatusError{int(s)}
	}
	return err
}

// cleanUpFailedStart takes back what a start that failed left: the
// socket, and with --rm the container.
func (r *transientRun) cleanUpFailedStart() {
	if len(r.def.Sockets) > 0 {
		_, _ = r.conn.StopUnitContext(context.Background(), r.socket(), "replace", nil)
	}
	if r.remove {
		if store, err := rootfs.Open(r.store); err == nil {
			_ = removeRunContainer(store, r.name, false)
		}
	}
}

// run starts the container and waits for its end.
func (r *transientRun) run(ctx context.Context) error {
	// The end of the container is a PropertiesChanged signal of its unit,
	// which wakes the wait below; subscribed before anything starts, so
	// that none is missed.
	watch := unitwatch.New(r.conn, r.service())
	if len(r.def.Sockets) > 0 {
		defer r.conn.StopUnitContext(context.Background(), r.socket(), "replace", nil)
	}
	if err := r.start(ctx); err != nil {
		return r.startFailure(ctx, err)
	}
	activation.Trace("run: started")
	// Ctrl-C stops the unit the way systemctl stop does; its end is then
	// a change like any other.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupts)
	go func() {
		for range interrupts {
			_, _ = r.conn.StopUnitContext(ctx, r.service(), "replace", nil)
		}
	}()
	err := watch.Until(ctx, func() (bool, error) {
		state, err := r.property(ctx, "ActiveState")
		return state == "inactive" || state == "failed", err
	})
	if err != nil {
		return err
	}
	activation.Trace("run: unit ended")
	return r.result(ctx)
}

// startTransient starts a transient unit (with auxiliary units) and waits
// for its start job.
func (r *transientRun) startTransient(ctx context.Context, unit string, props []sd.Property, aux ...sd.PropertyCollection) error {
	return r.wait(ctx, "start "+unit, func(ch chan<- string) error {
		_, err := r.conn.StartTransientUnitAux(ctx, unit, "fail", props, aux, ch)
		return err
	})
}

// wait runs a job and waits for it to finish.
func (r *transientRun) wait(ctx context.Context, what string, job func(chan<- string) error) error {
	done := make(chan string, 1)
	if err := job(done); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if result := <-done; result != "done" {
		return fmt.Errorf("%s: %s (see journalctl -u %s)", what, result, r.service())
	}
	return nil
}

func (r *transientRun) socketProperties() []sd.Property {
	var listen []struct{ Type, Address string }
	for _, s := range r.def.Sockets {
		listen = append(listen, struct{ Type, Address string }{socketListenType(s.Type), s.Listen})
	}
	return []sd.Property{
		sd.PropDescription("dockah run " + r.name + " sockets"),
		{Name: "Listen", Value: dbus.MakeVariant(listen)},
		// The shim finds its sockets by name, as in generated units.
		{Name: "FileDescriptorName", Value: dbus.MakeVariant(r.name)},
		{Name: "AddRef", Value: dbus.MakeVariant(true)},
		{Name: "CollectMode", Value: dbus.MakeVariant("inactive-or-failed")},
	}
}

func socketListenType(t string) string {
	switch t {
	case unitgen.SocketDatagram:
		return "Datagram"
	case unitgen.SocketSeqPacket:
		return "SequentialPacket"
	}
	return "Stream"
}

func (r *transientRun) serviceProperties() []sd.Property {
	props := []sd.Property{
		sd.PropDescription("dockah run " + r.name + " (" + r.def.Container.Image + ")"),
		sd.PropExecStart([]string{shimPath, "--definition", r.definition, r.name}, false),
		sd.PropType("notify"),
		{Name: "NotifyAccess", Value: dbus.MakeVariant("main")},
		{Name: "KillMode", Value: dbus.MakeVariant("mixed")},
		{Name: "Environment", Value: dbus.MakeVariant(r.environment())},
		{Name: "CollectMode", Value: dbus.MakeVariant("inactive-or-failed")},
		// The shim's stop record and network teardown, as a generated
		// unit's, then how the container ended (or, with --rm, its
		// removal); neither may fail the unit.
		{Name: "ExecStopPost", Value: dbus.MakeVariant([]execCommand{
			{Path: shimPath, Args: []string{shimPath, "--stopped", r.name}, IgnoreFailure: true},
			{Path: r.cli, Args: r.endedCommand(), IgnoreFailure: true},
		})},
	}
	if _, own := r.def.ShimSandbox(); !own {
		// Under systemd's ProtectSystem=strict, run-ended writes there,
		// and the shim and run-ended the container's user namespace
		// range (the store is in the sandbox's list). Without it, the
		// paths would cost a mount namespace at every exec of the unit
		// for nothing: /run is writable.
		props = append(props, sd.Property{Name: "ReadWritePaths", Value: dbus.MakeVariant(r.systemdWritable())})
	}
	if !r.detach {
		// Keep the unit, and its exit status, until this client is gone.
		props = append(props, sd.Property{Name: "AddRef", Value: dbus.MakeVariant(true)})
	}
	props = append(props, serviceSettings(r.def)...)
	props = append(props, r.sandbox...)
	return append(props, r.stdio()...)
}

// environment is the units' environment: the store, and DOCKAH_TRACE
// when this command traces its steps, so that the shim's follow.
func (r *transientRun) environment() []string {
	env := []string{"DOCKAH_ROOT=" + r.store}
	if activation.Tracing() {
		env = append(env, "DOCKAH_TRACE=1")
	}
	return env
}

// execCommand is an Exec*= command as systemd's D-Bus API takes it,
// (sasb): the last is the "-" prefix of a unit file.
type execCommand struct {
	Path          string
	Args          []string
	IgnoreFailure bool
}

// endedCommand records how the container ended, or removes it (--rm).
func (r *transientRun) endedCommand() []string {
	return runEndedCommand(r.cli, r.store, r.name, r.remove, len(r.def.Sockets) > 0)
}

// runEndedCommand is "dockah run-ended" for the container name.
func runEndedCommand(cli, store, name string, remove, sockets bool) []string {
	args := []string{cli, "--root", store, "run-ended"}
	if remove {
		args = append(args, "--rm")
	}
	if !sockets {
		// Nothing to close: no connection to systemd.
		args = append(args, "--no-sockets")
	}
	return append(args, name)
}

// stdio connects the unit to the caller: a terminal systemd makes the
// controlling one (-t), or the caller's own file descriptors; with -d
// the journal.
func (r *transientRun) stdio() []sd.Property {
	if r.detach {
		return nil
	}
	if r.tty != "" {
		return []sd.Property{
			{Name: "TTYPath", Value: dbus.MakeVariant(r.tty)},
			{Name: "StandardInput", Value: dbus.MakeVariant("tty")},
			{Name: "StandardOutput", Value: dbus.MakeVariant("tty")},
			{Name: "StandardError", Value: dbus.MakeVariant("tty")},
		}
	}
	stdin := dbus.UnixFD(0)
	if !r.stdin {
		null, err := os.Open(os.DevNull)
		if err == nil {
			stdin = dbus.UnixFD(null.Fd())
		}
	}
	return []sd.Property{
		{Name: "StandardInputFileDescriptor", Value: dbus.MakeVariant(stdin)},
		{Name: "StandardOutputFileDescriptor", Value: dbus.MakeVariant(dbus.UnixFD(1))},
		{Name: "StandardErrorFileDescriptor", Value: dbus.MakeVariant(dbus.UnixFD(2))},
	}
}

func (r *transientRun) property(ctx context.Context, name string) (string, error) {
	p, err := r.conn.GetUnitPropertyContext(ctx, r.service(), name)
	if err != nil {
		return "", fmt.Errorf("read %s of %s: %w", name, r.service(), err)
	}
	return strings.Trim(p.Value.String(), `"`), nil
}

// result turns the finished unit's main process status into the
// command's: the exit status, or 128+N for death by signal N.
func (r *transientRun) result(ctx context.Context) error {
	// Both asked at once: one round trip.
	type answer struct {
		value int32
		err   error
	}
	code := make(chan answer, 1)
	go func() {
		p, err := r.conn.GetServicePropertyContext(ctx, r.service(), "ExecMainCode")
		if err != nil {
			code <- answer{err: err}
			return
		}
		c, _ := p.Value.Value().(int32)
		code <- answer{value: c}
	}()
	p, err := r.conn.GetServicePropertyContext(ctx, r.service(), "ExecMainStatus")
	main := <-code
	if err != nil {
		return err
	}
	if main.err != nil {
		return main.err
	}
	status, _ := p.Value.Value().(int32)
	c := main.value
	_ = r.conn.ResetFailedUnitContext(ctx, r.service())
	const cldExited = 1
	switch {
	case c != cldExited && status != 0:
		return exitStatusError{128 + int(status)}
	case status != 0:
		return exitStatusError{int(status)}
	}
	result, _ := r.property(ctx, "Result")
	if result != "success" && result != "" {
		return errors.New("the container's unit ended with result " + result + " (see journalctl -u " + r.service() + ")")
	}
	return nil
}
