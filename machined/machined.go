package machined

import (
	"errors"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

const (
	busName    = "org.freedesktop.machine1"
	busPath    = "/org/freedesktop/machine1"
	busManager = "org.freedesktop.machine1.Manager"
	busMethod  = busManager + ".RegisterMachine"
)

// ErrUnavailable means systemd-machined cannot be reached: not installed,
// not running and not activatable, or no system bus.
var ErrUnavailable = errors.New("systemd-machined is not available")

// Machine is what a container registers as.
type Machine struct {
	Name    string // a valid machine name; see Name
	Service string // who registers, e.g. "dockah"
	Class   string // "container"
	Leader  int    // host pid of the container's init
	RootDir string // the container's root as seen from the host, may be empty
}

// Conn is a connection to the system bus for talking to machined.
type Conn struct {
	bus *dbus.Conn
}

// New connects to the system bus.
func New() (*Conn, error) {
	bus, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, fmt.Errorf("%w: connect to the system bus: %v", ErrUnavailable, err)
	}
	return &Conn{bus: bus}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.bus.Close() }

// Register registers a running container. machined finds its unit from the
// leader's cgroup (RegisterMachine, unlike CreateMachine, makes no scope),
// so the container stays in its service's cgroup and machined forgets it
// when the service stops.
func (c *Conn) Register(m Machine) error {
	obj := c.bus.Object(busName, busPath)
	call := obj.Call(busMethod, 0, m.Name, []byte{}, m.Service, m.Class, uint32(m.Leader), m.RootDir)
	if isDBusError(call.Err, "org.freedesktop.machine1.MachineExists") {
		// The unit's previous container: its service was restarted
		// before machined saw the old one go. The name is the unit's own,
		// so the old registration is stale.
		if err := obj.Call(busManager+".UnregisterMachine", 0, m.Name).Err; err == nil {
			call = obj.Call(busMethod, 0, m.Name, []byte{}, m.Service, m.Class, uint32(m.Leader), m.RootDir)
		}
	}
	if call.Err != nil {
		if isDBusError(call.Err, "org.freedesktop.DBus.Error.ServiceUnknown") {
			return fmt.Errorf("%w: %v", ErrUnavailable, call.Err)
		}
		return fmt.Errorf("register machine %s: %w", m.Name, call.Err)
	}
	return nil
}

// isDBusError reports whether err is the D-Bus error name; godbus gives
// replies as dbus.Error and its own failures as *dbus.Error.
func isDBusError(err error, name string) bool {
	var value dbus.Error
	var pointer *dbus.Error
	return errors.As(err, &value) && value.Name == name || errors.As(err, &pointer) && pointer.Name == name
}

// Name turns a container or unit instance name into a valid machine name:
// machined accepts host-name characters only, so "web@blue" becomes
// "web-blue". Names are cut to 64 characters.
func Name(container string) string {
	var b strings.Builder
	for _, r := range container {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-.")
	if len(name) > 64 {
		name = name[:64]
	}
	if name == "" {
		name = "dockah"
	}
	return name
}

// Leader returns the host pid of the init of the machine registered as
// name (machinectl show NAME -p Leader): how a container that is not a
// service's main process, the one of an attached dockah run in its
// scope, is found.
func (c *Conn) Leader(name string) (uint32, error) {
	var path dbus.ObjectPath
	if err := c.bus.Object(busName, busPath).Call(busManager+".GetMachine", 0, name).Store(&path); err != nil {
		return 0, fmt.Errorf("machine %s: %w", name, err)
	}
	v, err := c.bus.Object(busName, path).GetProperty("org.freedesktop.machine1.Machine.Leader")
	if err != nil {
		return 0, fmt.Errorf("machine %s: its leader: %w", name, err)
	}
	pid, ok := v.Value().(uint32)
	if !ok {
		return 0, fmt.Errorf("machine %s: its leader is a %T", name, v.Value())
	}
	return pid, nil
}
