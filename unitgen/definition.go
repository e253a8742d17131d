package unitgen

import (
	"io/fs"
	"strings"
	"time"
)

// Definition is one container definition: the main file merged with its
// drop-ins, validated, with defaults applied. The activation shim builds the
// container from it; Render turns it into units.
//
// Strings are as the user wrote them, with "%i" replaced by the instance and
// "%%" by "%" for an instance (web@blue) and for a plain definition. For a
// template (web@), strings keep "%i" and "%%" so that Render can leave the
// instance to systemd.
type Definition struct {
	// Name is the unit name without suffix: "web", "web@" for a template,
	// "web@blue" for an instance of the template web@.
	Name string
	// Instance is "blue" for web@blue, empty otherwise.
	Instance string
	// SourcePath is the main file, e.g. /etc/dockah/containers/web.toml.
	SourcePath string
	// DropIns are the drop-in files, in the order they were merged.
	DropIns []string

	Container Container
	Sockets   []Socket
	Volumes   []Volume
	Tmpfs     []Tmpfs
	Resources Resources
	Security  Security
	Service   Service
	Systemd   Systemd

	// Scope is set, never by the generator, for a container of an
	// attached "dockah run" while it runs: its unit is then the transient
	// NAME.scope that holds the client's own child, not a service.
	Scope bool `json:"-"`
}

// Prefix returns the container's name without instance: "web" for web,
// web@ and web@blue.
func (d *Definition) Prefix() string {
	prefix, _, _ := strings.Cut(d.Name, "@")
	return prefix
}

// IsTemplate reports whether d is a template (NAME@.toml) that systemd
// instantiates as NAME@INST.service.
func (d *Definition) IsTemplate() bool { return strings.HasSuffix(d.Name, "@") }

// Argv is an optional argument vector. Set distinguishes a key given as an
// empty array (entrypoint = [], which clears the image's Entrypoint as
// Docker's --entrypoint "") from a key not given at all (use the image's).
type Argv struct {
	Set  bool
	Args []string
}

// Network modes.
const (
	NetworkNone = "none" // a private network namespace with loopback only
	NetworkHost = "host" // the host's network namespace
)

// JoinsNetworks reports whether the container joins networks (a bridge
// and a veth), rather than having loopback only or the host's network.
func (c Container) JoinsNetworks() bool { return len(c.Networks) > 0 }

// Container is the [container] table: what runs and how it sees itself.
type Container struct {
	// Image is a name[:tag], name@sha256:DIGEST or sha256:DIGEST in the
	// image store.
	Image string
	// Pull says when dockah-pull@NAME.service fetches Image from its
	// registry before a start (see PullPolicy); default PullMissing.
	Pull PullPolicy
	// AutoUpdate says what `dockah auto-update` does for the container;
	// default AutoUpdateDisabled (left out of the JSON then).
	AutoUpdate AutoUpdatePolicy `json:",omitempty"`
	// Entrypoint replaces the image's Entrypoint when Set.
	Entrypoint Argv
	// Command replaces the image's Cmd when Set.
	Command Argv
	// Environment is added to (and overrides) the image's Env.
	Environment map[string]string
	// EnvironmentFiles are absolute host paths of KEY=VALUE files, read at
	// start in order, before Environment.
	EnvironmentFiles []string
	// WorkingDir is an absolute path in the container; empty: the image's.
	WorkingDir string
	// User is a name, uid, name:group or uid:gid resolved inside the
	// image; empty: the image's.
	User string
	// Hostname is the container's host name; empty: the container's name.
	Hostname string
	// ReadOnly makes the root filesystem read-only.
	ReadOnly bool
	// Ephemeral discards the writable layer at every start.
	Ephemeral bool
	// Network is NetworkNone (default), NetworkHost, or the name of the
	// network the container joins; with Networks, the first of them.
	Network string
	// Networks are the networks the container joins, in order (eth0 on
	// the first); network = "NAME" is networks = ["NAME"]. Empty for
	// NetworkNone and NetworkHost.
	Networks []string
	// IP are the addresses asked for, each on the network whose subnet
	// holds it (checked at start); empty: allocated.
	IP []string
	// Aliases are more names the container has on its networks.
	Aliases []string
	// Notify means the application sends READY=1 itself (sd_notify).
	Notify bool
	// Init runs a tiny init as pid 1 that reaps zombies and forwards
	// signals to the application.
	Init bool
	// Labels are the container's metadata (docker run --label): shown by
	// inspect, matched by ps --filter label=, never seen by the process.
	Labels map[string]string
}

// Socket types.
const (
	SocketStream    = "stream"
	SocketDatagram  = "datagram"
	SocketSeqPacket = "seqpacket"
)

// Socket is one [[socket]]: a listening socket systemd holds and passes to
// the container on the first connection.
type Socket struct {
	// Listen is "PORT", "ADDR:PORT", "[ADDR]:PORT" or an absolute path of
	// a unix socket.
	Listen string
	// Type is SocketStream (default), SocketDatagram or SocketSeqPacket.
	Type string
	// Port is the container port connections are forwarded to; 0 passes
	// the listening socket itself (LISTEN_FDS).
	Port int
	// Name is the file descriptor name (LISTEN_FDNAMES); empty: the
	// container's name (Prefix).
	Name string
}

// IsUnix reports whether the socket is a unix socket (Listen is a path).
func (s Socket) IsUnix() bool { return strings.HasPrefix(s.Listen, "/") }

// Relabel modes of a volume under SELinux.
const (
	RelabelNone    = "none"    // leave the label alone
	RelabelPrivate = "private" // label for this container only (:Z)
	RelabelShared  = "shared"  // label for all containers (:z)
)

// Volume is one [[volume]]: a bind mount of a host path or a named volume.
type Volume struct {
	// Source is an absolute host path, or the name of a named volume.
	Source string
	// Target is an absolute path in the container.
	Target string
	// ReadOnly mounts it read-only.
	ReadOnly bool
	// Relabel is RelabelNone (default), RelabelPrivate or RelabelShared.
	Relabel string
	// Copy fills a named volume, when the shim creates it, with what the
	// image has at Target (the default, as Docker and Podman do); false
	// leaves the new volume empty (Docker's nocopy). Always false for a
	// bind mount, which shows the host directory as it is.
	Copy bool
	// HostIDs ([[volume]] idmap = false), for a container with a user
	// namespace, mounts the volume with the host's IDs as they are,
	// which the container's range does not own: host root's files are
	// nobody's and read-only to the container. By default (false) the
	// volume is idmapped: its files keep the IDs the container knows
	// them by, as the image layers do.
	HostIDs bool
	// Chown ([[volume]] chown = true), for a bind volume of a container
	// with a user namespace, gives the source's files to the container's
	// range once (host ID n becomes the range's n, recorded so that later
	// starts do not walk it again), and mounts it as it then is: for a
	// file system that cannot be idmapped. With userns = "host" a volume
	// given to a range before gets its host IDs back.
	Chown bool
}

// IsNamed reports whether Source names a named volume rather than a path.
func (v Volume) IsNamed() bool { return !strings.HasPrefix(v.Source, "/") }

// Tmpfs is one [[tmpfs]]: a tmpfs mounted in the container.
type Tmpfs struct {
	// Target is an absolute path in the container.
	Target string
	// Size in bytes; 0: the kernel's default (half of the RAM).
	Size uint64
	// Mode is the permission bits of its root; 0 means 01777.
	Mode fs.FileMode
}

// Unlimited is the value of a size or count set to "infinity".
const Unlimited = ^uint64(0)

// Resources is the [resources] table, enforced by systemd on the service's
// cgroup. Zero values mean not set.
type Resources struct {
	MemoryMax     uint64 // bytes or Unlimited (MemoryMax=)
	MemoryHigh    uint64 // bytes or Unlimited (MemoryHigh=)
	MemorySwapMax uint64 // bytes or Unlimited (MemorySwapMax=)
	CPUQuota      int    // percent of one CPU, may exceed 100 (CPUQuota=)
	CPUWeight     int    // 1-10000 (CPUWeight=)
	TasksMax      uint64 // count or Unlimited (TasksMax=)
	IOWeight      int    // 1-10000 (IOWeight=)
}

// Seccomp profiles other than a path.
const (
	SeccompDefault    = "default"
	SeccompUnconfined = "unconfined"
)

// Who builds the mount-namespace part of the sandbox around the shim
// ([security] unit_sandbox).
const (
	// UnitSandboxShim: the shim confines itself in a mount namespace of
	// its own (ShimSandbox); the unit keeps only the directives that cost
	// systemd no mount namespace. The default: it starts much faster.
	UnitSandboxShim = "shim"
	// UnitSandboxSystemd: the unit has systemd's mount-namespace
	// directives (ProtectSystem=strict, ProtectHome=, PrivateTmp=...),
	// which systemd-analyze security can see and rate.
	UnitSandboxSystemd = "systemd"
)

// User namespace modes ([security] userns).
const (
	// UserNSAuto gives the container a user namespace of its own, mapped
	// onto a range of host IDs allocated for it (UserNSSize IDs): root in
	// the container is an unprivileged ID on the host.
	UserNSAuto = "auto"
	// UserNSHost runs the container in the host's user namespace: root
	// in the container is root on the host, bounded by the policy.
	UserNSHost = "host"
	// UserNSDefault is the mode of a definition that does not choose.
	UserNSDefault = UserNSAuto
	// DefaultUserNSSize is the number of IDs of a range: every 16-bit ID
	// an image may use (nobody is 65534).
	DefaultUserNSSize = 65536
	// MaxUserNSSize bounds userns_size.
	MaxUserNSSize = 1 << 30
)

// Security is the [security] table.
type Security struct {
	// CapabilitiesAdd and CapabilitiesDrop are upper-case names with the
	// CAP_ prefix ("CAP_NET_ADMIN"), or "ALL".
	CapabilitiesAdd  []string
	CapabilitiesDrop []string
	// Seccomp is SeccompDefault, SeccompUnconfined or the absolute path of
	// a profile (Docker/OCI JSON).
	Seccomp string
	// SELinuxType is the process type; empty: container_t.
	SELinuxType string
	// SELinuxLevel is an MLS level like s0:c1,c2; empty: a unique pair of
	// categories is chosen at start.
	SELinuxLevel string
	// NoNewPrivileges sets no_new_privs (default true).
	NoNewPrivileges bool
	// MaskedPaths are hidden in the container, in addition to the
	// default set.
	MaskedPaths []string
	// UnitSandbox is UnitSandboxShim or UnitSandboxSystemd.
	UnitSandbox string
	// UserNS is UserNSAuto or UserNSHost.
	UserNS string
	// UserNSSize is the number of host IDs of the container's range
	// (UserNSAuto).
	UserNSSize uint32
	// UIDMap and GIDMap, when set (uid_map, gid_map), are the range the
	// definition chooses instead of one allocated from the pool
	// (UserNSAuto); GIDMap is UIDMap's when only uid_map is given, and
	// UserNSSize is their size.
	UIDMap *IDMap `json:",omitempty"`
	GIDMap *IDMap `json:",omitempty"`
}

// IDMap is one line of a uid_map or gid_map: container IDs 0 to Size-1
// are host IDs Host to Host+Size-1.
type IDMap struct {
	Host, Size uint32
}

// Restart policies (Restart= of systemd).
var restartPolicies = []string{"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"}

// Infinity is a stop_timeout of "infinity" (or "0"): wait forever.
const Infinity = time.Duration(1<<63 - 1)

// Service is the [service] table: how systemd runs the container.
type Service struct {
	// Restart is a Restart= policy; empty: systemd's default ("no").
	Restart string
	// IdleTimeout stops the container after this long without
	// connections on its forwarded sockets; 0: never.
	IdleTimeout time.Duration
	// StopSignal is a signal name with the SIG prefix; empty: SIGTERM.
	StopSignal string
	// StartTimeout bounds the start: the setup, and with forwarded
	// sockets the wait for the application to listen on its ports;
	// 0: systemd's default; Infinity: forever.
	StartTimeout time.Duration
	// StopTimeout is how long to wait after StopSignal before SIGKILL;
	// 0: systemd's default; Infinity: forever.
	StopTimeout time.Duration
	// After, Requires and Wants name other containers ("db") or units
	// ("network-online.target").
	After    []string
	Requires []string
	Wants    []string
	// WantedBy are units (usually targets) that start the container, or
	// its sockets, at boot.
	WantedBy []string
	// DefaultInstance is the instance of a template that WantedBy starts.
	DefaultInstance string
}

// Directive is one raw line of a unit file section.
type Directive struct {
	Key   string
	Value string
}

// Systemd holds the raw directives of [systemd.unit], [systemd.service] and
// [systemd.socket], in key order; an array value gives a directive per
// element, in order.
type Systemd struct {
	Unit    []Directive
	Service []Directive
	Socket  []Directive
}
