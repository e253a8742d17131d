package unitgen

import (
	"slices"
	"strings"
)

// StoreDir is the image store the shim writes to (layers, writable
// layers, named volumes, caches). The generated unit makes it writable
// under ProtectSystem=strict; a store moved with DOCKAH_ROOT needs a
// matching ReadWritePaths= in [systemd.service].
const StoreDir = "/var/lib/dockah"

// UnitCapabilities is the capability bounding set of a generated service:
// what the shim needs to build a container (mounts and namespaces,
// device nodes, loopback, switching user, dropping capabilities, audit
// records; not CAP_SYS_PTRACE: the setup stage hands the shim the
// container's network namespace itself), together with
// Docker's default container set, which the container gets from the
// shim. A capability a definition adds is added to it; a test checks that
// package policy's default set stays inside it.
var UnitCapabilities = []string{
	"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
	"CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_MKNOD", "CAP_NET_ADMIN",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_ADMIN", "CAP_SYS_CHROOT",
}

// containerDevices are the only devices a container may open or create:
// the nodes of its /dev (see activation) and its own pseudo-terminals.
var containerDevices = []string{
	"/dev/null rw", "/dev/zero rw", "/dev/full rw", "/dev/random rw",
	"/dev/urandom rw", "/dev/tty rw", "/dev/ptmx rw", "char-pts rw",
}

// Sandbox returns the sandbox directives of d's service: the lines of its
// [Service] section that confine the shim and the container. The
// benchmark suite runs the bare server under them too, which tells
// systemd's cost of the sandbox from dockah's own.
func Sandbox(d *Definition) string {
	r := &renderer{d: d, template: d.IsTemplate()}
	w := &unitWriter{}
	r.hardening(w)
	return w.String()
}

// hardening writes the sandbox of the service around the shim and the
// container, which inherits it: the directives that do not break either,
// widened where the definition explicitly asks for more. Not
// SELinuxContext= (it would label the shim, not the container) and not
// ProtectHostname= (the shim sets the container's host name).
func (r *renderer) hardening(w *unitWriter) {
	d := r.d
	sec := d.Security
	all := slices.Contains(sec.CapabilitiesAdd, "ALL")
	// wants reports whether the definition grants the container one of
	// the capabilities a directive would take away.
	wants := func(caps ...string) bool { return all || addsAny(sec.CapabilitiesAdd, caps...) }
	// Directives systemd enforces with a seccomp filter of its own go
	// when the definition asks for no filter at all.
	filtered := sec.Seccomp != SeccompUnconfined

	if !all {
		caps := slices.Clone(UnitCapabilities)
		for _, c := range sec.CapabilitiesAdd {
			if !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
		slices.Sort(caps)
		w.set("CapabilityBoundingSet", strings.Join(caps, " "))
	}
	if sec.NoNewPrivileges {
		w.set("NoNewPrivileges", "yes")
	}
	r.filesystems(w)
	w.set("ProtectKernelTunables", "yes")
	w.set("ProtectControlGroups", "yes")
	if !wants("CAP_SYS_MODULE") {
		w.set("ProtectKernelModules", "yes")
	}
	if !wants("CAP_SYSLOG") {
		w.set("ProtectKernelLogs", "yes")
	}
	if filtered && !wants("CAP_SYS_TIME") {
		w.set("ProtectClock", "yes")
	}
	if filtered {
		w.set("LockPersonality", "yes")
	}
	if filtered && !wants("CAP_SYS_NICE") {
		w.set("RestrictRealtime", "yes")
	}
	r.network(w, filtered)
	if !all {
		w.set("DevicePolicy", "closed")
		for _, dev := range containerDevices {
			w.set("DeviceAllow", dev)
		}
	}
	if !filtered {
		return
	}
	if !wants("CAP_NET_RAW", "CAP_NET_ADMIN") {
		w.set("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK")
	}
	w.set("SystemCallArchitectures", "native")
	groups := "~@clock @cpu-emulation @module @obsolete @raw-io @reboot @swap"
	if !wants("CAP_SYS_PTRACE") {
		groups += " @debug"
	}
	w.set("SystemCallFilter", groups)
	w.set("SystemCallErrorNumber", "EPERM")
}

// filesystems writes what the shim and the container may write and see
// of the host's file systems.
func (r *renderer) filesystems(w *unitWriter) {
	d := r.d
	w.set("ProtectSystem", "strict")
	w.set("PrivateMounts", "yes")
	w.set("ReadWritePaths", StoreDir)
	for _, v := range d.Volumes {
		// A bind volume is written through the unit's own view of the
		// host, which ProtectSystem= makes read-only.
		if !v.IsNamed() && !v.ReadOnly {
			w.set("ReadWritePaths", r.spec(v.Source))
		}
	}
	if !volumeUnder(d.Volumes, "/home", "/root", "/run/user") {
		w.set("ProtectHome", "yes")
	}
	if !volumeUnder(d.Volumes, "/tmp", "/var/tmp") {
		w.set("PrivateTmp", "yes")
	}
	// Not RestrictSUIDSGID=: systemd enforces it by failing openat2()
	// (whose flags its filter cannot read), and the shim resolves every
	// path of an image with openat2(RESOLVE_IN_ROOT). A setuid file in a
	// container gains nothing: no_new_privs, and the store is 0700.
	w.set("UMask", "0077")
}

// network writes the namespaces the shim may create and, for a container
// without the host's network, its private network.
func (r *renderer) network(w *unitWriter, filtered bool) {
	namespaces := "cgroup ipc mnt pid uts"
	if r.d.Container.Network != NetworkHost {
		namespaces += " net"
		w.set("PrivateNetwork", "yes")
		// Only loopback exists for the shim and the container; passed
		// sockets belong to the socket unit and are not filtered here.
		w.set("IPAddressDeny", "any")
		w.set("IPAddressAllow", "localhost")
	}
	if filtered {
		w.set("RestrictNamespaces", namespaces)
	}
}

func addsAny(added []string, caps ...string) bool {
	for _, c := range caps {
		if slices.Contains(added, c) {
			return true
		}
	}
	return false
}

// volumeUnder reports whether a bind volume's source lies in one of dirs.
func volumeUnder(volumes []Volume, dirs ...string) bool {
	for _, v := range volumes {
		for _, dir := range dirs {
			if !v.IsNamed() && (v.Source == dir || strings.HasPrefix(v.Source, dir+"/")) {
				return true
			}
		}
	}
	return false
}
