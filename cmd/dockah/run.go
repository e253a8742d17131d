package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/cmd/internal/unitwatch"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

// runDir holds the definitions of containers started by "dockah run". It
// is not on the generator's search path: these containers are transient
// units, not generated ones.
const runDir = "/run/dockah/run"

type runOptions struct {
	name        string
	remove      bool
	interactive bool
	tty         bool
	publish     []string
	env         []string
}

func newRunCommand(g *globalOptions) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND [ARG...]]",
		Short: "Run an image now, as a transient systemd unit",
		Long: `Run a container of IMAGE now, with the same setup as a defined container,
as a transient systemd service started through systemd's D-Bus API. Its
output appears on the terminal, its exit status is the command's, and
Ctrl-C stops it.

-p HOST:CONTAINER listens on HOST (a port, ADDR:PORT or [ADDR]:PORT) through
a transient socket unit and forwards each connection to CONTAINER inside the
container, which has no network but loopback.

The transient service has the sandbox of a generated one (ProtectSystem=strict,
the capability bounding set, system call filters, PrivateNetwork=, ...):
systemctl show NAME.service and systemd-analyze security NAME.service show it.`,
		Example: `  dockah run hello:latest
  dockah run --rm busybox:latest echo "Hello, World!"
  dockah run --rm -it busybox:latest sh
  dockah run --rm -p 127.0.0.1:8080:80 nginx:latest`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainer(cmd.Context(), g, o, args[0], args[1:])
		},
	}
	cmd.Flags().SetInterspersed(false) // flags after IMAGE belong to COMMAND
	cmd.Flags().StringVar(&o.name, "name", "", "container name (default: run-RANDOM)")
	cmd.Flags().BoolVar(&o.remove, "rm", false, "discard the container's writable layer when it exits")
	cmd.Flags().BoolVarP(&o.interactive, "interactive", "i", false, "connect standard input")
	cmd.Flags().BoolVarP(&o.tty, "tty", "t", false, "give the container a terminal (with -i: yours, in raw mode)")
	cmd.Flags().StringArrayVarP(&o.publish, "publish", "p", nil, "listen on HOST and forward to the container's port CONTAINER (HOST:CONTAINER)")
	cmd.Flags().StringArrayVarP(&o.env, "env", "e", nil, "set an environment variable (NAME=VALUE)")
	return cmd
}

// runDefinition is the TOML definition of a "dockah run" container.
type runDefinition struct {
	Container runContainerTable `toml:"container"`
	Socket    []runSocket       `toml:"socket,omitempty"`
}

type runContainerTable struct {
	Image       string            `toml:"image"`
	Command     []string          `toml:"command,omitempty"`
	Environment map[string]string `toml:"environment,omitempty"`
	Ephemeral   bool              `toml:"ephemeral"`
}

type runSocket struct {
	Listen string `toml:"listen"`
	Port   int    `toml:"port"`
}

// buildRunDefinition writes the definition of a run as TOML. It is
// checked by the same loader as any definition before anything starts.
func buildRunDefinition(o runOptions, image string, command []string) ([]byte, error) {
	def := runDefinition{Container: runContainerTable{Image: image, Command: command, Ephemeral: o.remove}}
	for _, kv := range o.env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-e %q: want NAME=VALUE", kv)
		}
		if def.Container.Environment == nil {
			def.Container.Environment = map[string]string{}
		}
		def.Container.Environment[name] = value
	}
	for _, p := range o.publish {
		i := strings.LastIndexByte(p, ':')
		port, err := strconv.Atoi(p[i+1:])
		if i <= 0 || err != nil {
			return nil, fmt.Errorf("-p %q: want HOST:CONTAINER, HOST being PORT, ADDR:PORT or [ADDR]:PORT", p)
		}
		def.Socket = append(def.Socket, runSocket{Listen: p[:i], Port: port})
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(def); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func randomName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "run-" + hex.EncodeToString(b[:])
}

func runContainer(ctx context.Context, g *globalOptions, o runOptions, image string, command []string) error {
	if o.name == "" {
		o.name = randomName()
	}
	if _, err := unitgen.LoadUnit(os.DirFS("/"), o.name); err == nil {
		return fmt.Errorf("a container named %s is defined in %s; choose another --name", o.name, strings.Join(unitgen.SearchPath(), ", "))
	}
	data, err := buildRunDefinition(o, image, command)
	if err != nil {
		return err
	}
	path := filepath.Join(runDir, o.name+".toml")
	def, err := unitgen.Parse(o.name, unitgen.File{Path: path, Data: data})
	if err != nil {
		return err
	}
	sandbox, err := sandboxProperties(def, g.storeRoot)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	defer os.Remove(path)
	conn, err := sd.NewSystemConnectionContext(ctx)
	if err != nil {
		return fmt.Errorf("connect to systemd: %w", err)
	}
	defer conn.Close()
	if o.remove {
		// Once the unit is gone, so is the writable layer.
		defer func() {
			if store, err := rootfs.Open(g.storeRoot); err == nil {
				_ = store.RemoveContainer(o.name)
			}
		}()
	}
	r := &transientRun{conn: conn, name: o.name, def: def, definition: path, store: g.storeRoot, stdin: o.interactive, sandbox: sandbox}
	if o.tty {
		master, slave, err := activation.HostTerminal(os.Stdin, os.Stdout)
		if err != nil {
			return err
		}
		r.tty = slave
		var in io.Reader
		if o.interactive {
			in = os.Stdin
		}
		relayed := make(chan struct{})
		go func() { activation.RelayTerminal(master, in, os.Stdout); close(relayed) }()
		err = r.run(ctx)
		// The last output is on its way; the relay ends at EIO.
		select {
		case <-relayed:
		case <-time.After(2 * time.Second):
		}
		return err
	}
	return r.run(ctx)
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
	// sandbox is the generated units' sandbox (ProtectSystem=strict,
	// the capability bounding set, system call filters, ...).
	sandbox []sd.Property
}

func (r *transientRun) service() string { return r.name + ".service" }
func (r *transientRun) socket() string  { return r.name + ".socket" }

func (r *transientRun) run(ctx context.Context) error {
	// The end of the container is a PropertiesChanged signal of its unit,
	// which wakes the wait below; subscribed before anything starts, so
	// that none is missed.
	changes := unitwatch.Changes(r.conn, r.service())
	if len(r.def.Sockets) > 0 {
		// A socket refuses to start without its service loaded: both
		// are made in one call, the service as an auxiliary unit, which
		// is then started at once (docker run semantics), not on the
		// first connection.
		aux := []sd.PropertyCollection{{Name: r.service(), Properties: r.serviceProperties()}}
		if err := r.start(ctx, r.socket(), r.socketProperties(), aux...); err != nil {
			return err
		}
		defer r.conn.StopUnitContext(context.Background(), r.socket(), "replace", nil)
		if err := r.wait(ctx, "start "+r.service(), func(ch chan<- string) error {
			_, err := r.conn.StartUnitContext(ctx, r.service(), "replace", ch)
			return err
		}); err != nil {
			return err
		}
	} else if err := r.start(ctx, r.service(), r.serviceProperties()); err != nil {
		return err
	}
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupts)
	for {
		state, err := r.property(ctx, "ActiveState")
		if err != nil {
			return err
		}
		if state == "inactive" || state == "failed" {
			return r.result(ctx)
		}
		if err := r.waitChange(ctx, changes, interrupts); err != nil {
			return err
		}
	}
}

// waitChange waits until the service's properties may have changed: a
// signal for it, Ctrl-C (which stops it the way systemctl stop does), or,
// in case go-systemd dropped one (it does not wait for a full channel), a
// second.
func (r *transientRun) waitChange(ctx context.Context, changes <-chan struct{}, interrupts <-chan os.Signal) error {
	poll := time.Second
	if changes == nil {
		poll = 50 * time.Millisecond
	}
	select {
	case <-changes:
	case <-interrupts:
		_, _ = r.conn.StopUnitContext(ctx, r.service(), "replace", nil)
	case <-time.After(poll):
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// start starts a transient unit (with auxiliary units) and waits for its
// start job.
func (r *transientRun) start(ctx context.Context, unit string, props []sd.Property, aux ...sd.PropertyCollection) error {
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
		{Name: "Environment", Value: dbus.MakeVariant([]string{"DOCKAH_ROOT=" + r.store})},
		// Keep the unit, and its exit status, until this client is gone.
		{Name: "AddRef", Value: dbus.MakeVariant(true)},
		{Name: "CollectMode", Value: dbus.MakeVariant("inactive-or-failed")},
	}
	props = append(props, r.sandbox...)
	return append(props, r.stdio()...)
}

// stdio connects the unit to the caller: a terminal systemd makes the
// controlling one (-t), or the caller's own file descriptors.
func (r *transientRun) stdio() []sd.Property {
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
	p, err := r.conn.GetServicePropertyContext(ctx, r.service(), "ExecMainStatus")
	if err != nil {
		return err
	}
	status, _ := p.Value.Value().(int32)
	code, err := r.conn.GetServicePropertyContext(ctx, r.service(), "ExecMainCode")
	if err != nil {
		return err
	}
	c, _ := code.Value.Value().(int32)
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
