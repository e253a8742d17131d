package unitgen

import (
	"slices"
	"strings"
)

// StoreDir is the image store the shim writes to (layers, writable
// layers, named volumes, caches). The shim's own sandbox keeps the store
// it uses writable (DOCKAH_ROOT too); under systemd's (unit_sandbox =
// "systemd") the generated unit makes it writable under
// ProtectSystem=strict, and a store moved with DOCKAH_ROOT needs a
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
// the nodes of its /dev (see activation) and its own pseudo-terminals,
// each a path and the access allowed.
var containerDevices = [][2]string{
	{"/dev/null", "rw"}, {"/dev/zero", "rw"}, {"/dev/full", "rw"}, {"/dev/random", "rw"},
	{"/dev/urandom", "rw"}, {"/dev/tty", "rw"}, {"/dev/ptmx", "rw"}, {"char-pts", "rw"},
}

// SandboxDirective is one directive of the sandbox of a generated service,
// as values rather than unit-file text: the unit renderer escapes them
// into a line of the unit, "dockah run" turns them into a property of a
// transient unit, which systemd takes unescaped. A key that may be given
// more than once (ReadWritePaths=, DeviceAllow=) comes once for each line
// of the unit.
type SandboxDirective struct {
	Key string
	// Values are the words of the directive: "yes", capability names, a
	// path, a device and its access. A path is the definition's own; in
	// a template it may hold "%i", which the unit keeps as the instance.
	Values []string
	// Deny makes Values a deny list, which the unit writes with systemd's
	// "~" before it (SystemCallFilter=).
	Deny bool
}

// String returns the directive as the line of a unit that is not a
// template, without its line break: KEY=VALUE.
func (s SandboxDirective) String() string {
	var b strings.Builder
	b.WriteString(s.Key + "=")
	s.writeValue(&b, false)
	return b.String()
}

// writeValue writes the directive's value as a unit file has it: its
// values escaped, quoted where they hold blanks or quotes (a volume's
// source "/srv/my data" is one path of ReadWritePaths=, which systemd
// unquotes), separated by blanks.
func (s SandboxDirective) writeValue(b *strings.Builder, template bool) {
	if s.Deny {
		b.WriteByte('~')
	}
	for i, v := range s.Values {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(word(specifiers(v, template)))
	}
}

// Sandbox returns the sandbox directives of d's service, in the order of
// its [Service] section: what confines the shim and the container. The
// benchmark suite runs the bare server under them too, which tells
// systemd's cost of the sandbox from dockah's own.
func Sandbox(d *Definition) []SandboxDirective {
	// Room for the default sandbox and a few volumes: the generator
	// makes one for every definition.
	s := sandbox{dirs: make([]SandboxDirective, 0, 40), words: make([]string, 0, 80)}
	s.hardening(d)
	return s.dirs
}

// hardening writes the sandbox of the service around the shim and the
// container, which inherits it.
func (r *renderer) hardening(w *unitWriter) {
	for _, s := range Sandbox(r.d) {
		w.WriteString(s.Key + "=")
		s.writeValue(&w.Builder, r.template)
		w.WriteByte('\n')
	}
}

// sandbox collects the directives of a service's sandbox, and their
// values in one array.
type sandbox struct {
	dirs  []SandboxDirective
	words []string
}

func (s *sandbox) set(key string, values ...string) { s.add(key, false, values) }

func (s *sandbox) add(key string, deny bool, values []string) {
	n := len(s.words)
	s.words = append(s.words, values...)
	// Capped: appending to one directive's values cannot touch the next.
	s.dirs = append(s.dirs, SandboxDirective{Key: key, Values: s.words[n:len(s.words):len(s.words)], Deny: deny})
}

// hardening adds the directives that break neither the shim nor the
// container, widened where the definition explicitly asks for more. Not
// SELinuxContext= (it would label the shim, not the container) and not
// ProtectHostname= (the shim sets the container's host name).
//
// With unit_sandbox = "shim" (the default) it leaves out every directive
// that makes systemd build a mount namespace for the shim (ProtectSystem=,
// ProtectHome=, PrivateTmp=, PrivateMounts=, ReadWritePaths=,
// ProtectKernelTunables/Modules/Logs=, ProtectControlGroups=): the shim
// builds their equivalent itself (ShimSandbox), in a few system calls
// where systemd spends tens of milliseconds. The seccomp part of
// ProtectKernelModules= and ProtectKernelLogs= stays, in
// SystemCallFilter=. With unit_sandbox = "systemd" the unit has them all,
// as before.
func (s *sandbox) hardening(d *Definition) {
	sec := d.Security
	all := slices.Contains(sec.CapabilitiesAdd, "ALL")
	// wants reports whether the definition grants the container one of
	// the capabilities a directive would take away.
	wants := func(caps ...string) bool { return all || addsAny(sec.CapabilitiesAdd, caps...) }
	// Directives systemd enforces with a seccomp filter of its own go
	// when the definition asks for no filter at all.
	filtered := sec.Seccomp != SeccompUnconfined
	bySystemd := sec.UnitSandbox == UnitSandboxSystemd

	if !all {
		caps := slices.Clone(UnitCapabilities)
		for _, c := range sec.CapabilitiesAdd {
			if !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
		slices.Sort(caps)
		s.set("CapabilityBoundingSet", caps...)
	}
	if sec.NoNewPrivileges {
		s.set("NoNewPrivileges", "yes")
	}
	if bySystemd {
		s.filesystems(d)
		s.set("ProtectKernelTunables", "yes")
		s.set("ProtectControlGroups", "yes")
		if !wants("CAP_SYS_MODULE") {
			s.set("ProtectKernelModules", "yes")
		}
		if !wants("CAP_SYSLOG") {
			s.set("ProtectKernelLogs", "yes")
		}
	} else {
		s.set("UMask", "0077")
	}
	if filtered && !wants("CAP_SYS_TIME") {
		s.set("ProtectClock", "yes")
	}
	if filtered {
		s.set("LockPersonality", "yes")
	}
	if filtered && !wants("CAP_SYS_NICE") {
		s.set("RestrictRealtime", "yes")
	}
	s.network(d, filtered)
	if !all {
		s.set("DevicePolicy", "closed")
		for _, dev := range containerDevices {
			s.set("DeviceAllow", dev[0], dev[1])
		}
	}
	if !filtered {
		return
	}
	if !wants("CAP_NET_RAW", "CAP_NET_ADMIN") {
		s.set("RestrictAddressFamilies", "AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK")
	}
	s.set("SystemCallArchitectures", "native")
	s.add("SystemCallFilter", true, syscallGroups(bySystemd, wants))
	s.set("SystemCallErrorNumber", "EPERM")
}

// syscallGroups returns what SystemCallFilter= denies. Under the shim's
// own sandbox it also holds the filters of the directives left out:
// @module (ProtectKernelModules=) and syslog (ProtectKernelLogs=), each
// only when the definition does not grant the capability they guard, as
// @clock (ProtectClock=). Under systemd's it is as it always was.
func syscallGroups(bySystemd bool, wants func(...string) bool) []string {
	if bySystemd {
		groups := []string{"@clock", "@cpu-emulation", "@module", "@obsolete", "@raw-io", "@reboot", "@swap"}
		if !wants("CAP_SYS_PTRACE") {
			groups = append(groups, "@debug")
		}
		return groups
	}
	var groups []string
	add := func(group, capability string) {
		if capability == "" || !wants(capability) {
			groups = append(groups, group)
		}
	}
	add("@clock", "CAP_SYS_TIME")
	add("@cpu-emulation", "")
	add("@module", "CAP_SYS_MODULE")
	add("@obsolete", "")
	add("@raw-io", "")
	add("@reboot", "")
	add("@swap", "")
	add("@debug", "CAP_SYS_PTRACE")
	add("syslog", "CAP_SYSLOG")
	return groups
}

// filesystems adds what the shim and the container may write and see of
// the host's file systems (unit_sandbox = "systemd").
func (s *sandbox) filesystems(d *Definition) {
	s.set("ProtectSystem", "strict")
	s.set("PrivateMounts", "yes")
	s.set("ReadWritePaths", StoreDir)
	for _, v := range d.Volumes {
		// A bind volume is written through the unit's own view of the
		// host, which ProtectSystem= makes read-only.
		if !v.IsNamed() && !v.ReadOnly {
			s.set("ReadWritePaths", v.Source)
		}
	}
	if !volumeUnder(d.Volumes, homeDirs...) {
		s.set("ProtectHome", "yes")
	}
	if !volumeUnder(d.Volumes, tmpDirs...) {
		s.set("PrivateTmp", "yes")
	}
	// Not RestrictSUIDSGID=: systemd enforces it by failing openat2()
	// (whose flags its filter cannot read), and the shim resolves every
	// path of an image with openat2(RESOLVE_IN_ROOT). A setuid file in a
	// container gains nothing: no_new_privs, and the store is 0700.
	s.set("UMask", "0077")
}

// network adds the namespaces the shim may create and, for a container
// without the host's network, its private network.
func (s *sandbox) network(d *Definition, filtered bool) {
	namespaces := []string{"cgroup", "ipc", "mnt", "pid", "uts"}
	switch {
	case d.Container.JoinsNetworks():
		// The shim stays in the host's network namespace: it makes the
		// container's veth there and moves one end into the container's
		// own namespace. No IPAddressDeny=: systemd's filter applies to
		// every socket of the unit's cgroup, the container's included,
		// whatever its namespace; the network's firewall rules and
		// routes say where the container may go. The first container
		// of a network turns on the host's forwarding.
		namespaces = append(namespaces, "net")
		if d.Security.UnitSandbox == UnitSandboxSystemd {
			s.set("ReadWritePaths", "-"+forwardingSwitches[0], "-"+forwardingSwitches[1])
		}
	case d.Container.Network != NetworkHost:
		namespaces = append(namespaces, "net")
		s.set("PrivateNetwork", "yes")
		if d.Security.UnitSandbox != UnitSandboxSystemd {
			// systemd 254 and later build a mount namespace for a
			// private network (to show its /sys) unless told not to.
			s.set("PrivateMounts", "no")
		}
		// Only loopback exists for the shim and the container; passed
		// sockets belong to the socket unit and are not filtered here.
		s.set("IPAddressDeny", "any")
		s.set("IPAddressAllow", "localhost")
	}
	if d.Security.UserNS == UserNSAuto {
		// The container's user namespace, which its other namespaces
		// belong to; no capability of the unit's is needed for it.
		namespaces = append(namespaces, "user")
	}
	if filtered {
		s.set("RestrictNamespaces", namespaces...)
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

// DNSSocket is the socket unit of dockah's resolver, which the
// containers of networks use (see package network): a static unit that
// "make install" installs, listening on a link-local address.
const DNSSocket = "dockah-dns.socket"

// SubIDsService writes the pool of containers' user namespace ranges as
// the "containers" entry of /etc/subuid and /etc/subgid where it is
// missing ("dockah system subids"): a static unit that "make install"
// installs, which every container with userns = "auto" wants.
const SubIDsService = "dockah-subids.service"
