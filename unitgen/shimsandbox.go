package unitgen

import "slices"

// homeDirs are the directories ProtectHome=yes hides.
var homeDirs = []string{"/home", "/root", "/run/user"}

// forwardingSwitches are the host's forwarding sysctls a network's setup
// may turn on.
var forwardingSwitches = []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"}

// tmpDirs are the directories PrivateTmp=yes replaces.
var tmpDirs = []string{"/tmp", "/var/tmp"}

// ShimSandbox is the part of a service's sandbox the shim builds around
// itself, in a mount namespace of its own, when the unit leaves systemd's
// mount-namespace directives out (unit_sandbox = "shim"): their
// equivalent, computed from the definition as Sandbox computes the
// directives, and applied by the shim (package activation/confine) before
// it reads anything the container controls. The rest of the host's tree
// is read-only, nosuid and nodev for the shim (ProtectSystem=strict,
// ProtectKernelTunables=, ProtectControlGroups=); the store stays
// writable.
type ShimSandbox struct {
	// Writable are the host paths the shim writes besides the store:
	// the sources of the writable bind volumes (ReadWritePaths=). They
	// stay as the host has them.
	Writable []string
	// Hidden are directories hidden under an empty read-only tmpfs:
	// /home, /root and /run/user (ProtectHome=yes) unless a bind volume's
	// source lies in one of them, and the kernel's modules
	// (ProtectKernelModules=yes) unless the container may load modules.
	Hidden []string
	// Private are directories that get a fresh tmpfs of their own: /tmp
	// and /var/tmp (PrivateTmp=yes), unless a bind volume's source lies
	// in one of them.
	Private []string
	// Masked are files hidden under /dev/null: the kernel's log
	// (ProtectKernelLogs=yes) unless the container may read it.
	Masked []string
}

// ShimSandbox returns the sandbox the shim builds around itself for d,
// and false when the unit has systemd's directives instead
// (unit_sandbox = "systemd"), which already confine the shim.
func (d *Definition) ShimSandbox() (ShimSandbox, bool) {
	if d.Security.UnitSandbox == UnitSandboxSystemd {
		return ShimSandbox{}, false
	}
	var s ShimSandbox
	for _, v := range d.Volumes {
		if !v.IsNamed() && !v.ReadOnly && !slices.Contains(s.Writable, v.Source) {
			s.Writable = append(s.Writable, v.Source)
		}
	}
	if d.Container.JoinsNetworks() {
		// The first container of a network turns on the host's
		// forwarding (ReadWritePaths= of the systemd sandbox).
		s.Writable = append(s.Writable, forwardingSwitches...)
	}
	// One directory at a time, finer than ProtectHome=, which is one
	// switch for all three.
	for _, dir := range homeDirs {
		if !volumeUnder(d.Volumes, dir) {
			s.Hidden = append(s.Hidden, dir)
		}
	}
	all := slices.Contains(d.Security.CapabilitiesAdd, "ALL")
	if !all && !slices.Contains(d.Security.CapabilitiesAdd, "CAP_SYS_MODULE") {
		// systemd hides the one of merged /usr; a host without it has
		// the other.
		s.Hidden = append(s.Hidden, "/usr/lib/modules", "/lib/modules")
	}
	if !volumeUnder(d.Volumes, tmpDirs...) {
		s.Private = slices.Clone(tmpDirs)
	}
	if !all && !slices.Contains(d.Security.CapabilitiesAdd, "CAP_SYSLOG") {
		s.Masked = []string{"/proc/kmsg", "/dev/kmsg"}
	}
	return s, true
}
