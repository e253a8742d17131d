package unitgen

import (
	"net/netip"
	"strconv"
	"strings"
)

const acceptSignal = `a signal name like "SIGTERM", "TERM", "SIGRTMIN+3"`

var signalNames = strings.Fields(`HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM
	TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS`)

// parseSignal returns the canonical name (with the SIG prefix) of a signal
// given with or without the prefix, in any case.
func parseSignal(s string) (string, bool) {
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	for _, n := range signalNames {
		if name == n {
			return "SIG" + n, true
		}
	}
	for _, base := range []string{"RTMIN+", "RTMAX-"} {
		if rest, ok := strings.CutPrefix(name, base); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 && n <= 30 && rest == strconv.Itoa(n) {
				return "SIG" + name, true
			}
		}
	}
	return "", false
}

// signalNumber returns the Linux number of a canonical signal name:
// signalNames is in number order from 1, and the real-time signals count
// from glibc's SIGRTMIN (34) and up to SIGRTMAX (64), as systemd does.
func signalNumber(name string) int {
	name = strings.TrimPrefix(name, "SIG")
	for i, n := range signalNames {
		if name == n {
			return i + 1
		}
	}
	if rest, ok := strings.CutPrefix(name, "RTMIN+"); ok {
		n, _ := strconv.Atoi(rest)
		return 34 + n
	}
	if rest, ok := strings.CutPrefix(name, "RTMAX-"); ok {
		n, _ := strconv.Atoi(rest)
		return 64 - n
	}
	return 0
}

const acceptCapability = `a capability name like "NET_ADMIN" or "CAP_NET_ADMIN", or "ALL"`

// capabilityNames are the Linux capabilities, in number order.
var capabilityNames = strings.Fields(`CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID
	SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK
	IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
	SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
	MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
	CHECKPOINT_RESTORE`)

// parseCapability returns "CAP_NAME" for a capability given with or
// without the prefix, in any case, or "ALL"; hint is a near miss.
func parseCapability(s string) (name, hint string) {
	up := strings.ToUpper(s)
	if up == "ALL" {
		return "ALL", ""
	}
	bare := strings.TrimPrefix(up, "CAP_")
	for _, n := range capabilityNames {
		if bare == n {
			return "CAP_" + n, ""
		}
	}
	if c := closest(strings.ToLower(bare), lowerAll(capabilityNames)); c != "" {
		hint = "CAP_" + strings.ToUpper(c)
	}
	return "", hint
}

func lowerAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

// unitTypes are the suffixes of systemd unit names.
var unitTypes = []string{"service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope"}

// unitChars are the characters of a unit name besides "@" and the dot of
// its suffix.
const unitChars = alnum + ":_.-\\"

// maxNameLen bounds a container's name (with instance), so that the unit
// names made from it (NAME-SOCKETNAME@INST.socket) stay within systemd's
// 255 characters.
const maxNameLen = 180

const acceptName = `letters, digits and : _ . - \, with "@" before a template's instance, at most 180 characters`

// checkName checks a container name as the file name gives it: "web",
// "web@" (a template) or "web@blue" (an instance).
func checkName(name string) string {
	prefix, instance, _ := strings.Cut(name, "@")
	switch {
	case name == "" || prefix == "":
		return "is not a container name"
	case len(name) > maxNameLen:
		return "is longer than 180 characters"
	case !allIn(prefix, unitChars) || !allIn(instance, unitChars):
		return "is not a container name"
	}
	return ""
}

const acceptUnitName = `a container name ("db") or a unit name with its suffix ("network-online.target")`

// unitSuffix returns the unit type suffix of name ("target"), or "".
func unitSuffix(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return ""
	}
	for _, t := range unitTypes {
		if name[i+1:] == t {
			return t
		}
	}
	return ""
}

// checkUnitName checks a unit name with its suffix.
func checkUnitName(name string) string {
	t := unitSuffix(name)
	if t == "" {
		return "is not a unit name"
	}
	prefix := strings.TrimSuffix(name, "."+t)
	if checkName(prefix) != "" {
		return "is not a unit name"
	}
	if strings.HasSuffix(prefix, "@") {
		return "is a template, not an instance"
	}
	return ""
}

// checkDependency checks an entry of after, requires or wants: a unit
// name, or a container name that means its service.
func checkDependency(name string) string {
	if unitSuffix(name) != "" {
		return checkUnitName(name)
	}
	if strings.HasSuffix(name, "@") {
		return "is a template, not an instance"
	}
	return checkName(name)
}

// dependencyUnit returns the unit an entry of after, requires or wants
// names: "db" means "db.service".
func dependencyUnit(name string) string {
	if unitSuffix(name) != "" {
		return name
	}
	return name + ".service"
}

// SignalNumber returns the number of a signal name as stop_signal takes
// it ("SIGQUIT", "TERM", "SIGRTMIN+3"), or 0 for a name it does not know.
func SignalNumber(name string) int { return signalNumber(name) }

const (
	acceptNetwork     = `"none", "host", or the name of a network (letters, digits and _ . -, at most 64 characters)`
	acceptNetworkName = `the name of a network: letters, digits and _ . -, at most 64 characters, not starting with . or -`
	acceptIP          = `an IPv4 or IPv6 address, e.g. "10.90.0.10"`
)

// checkNetwork checks the value of network: a mode or a network's name.
func checkNetwork(s string) string {
	if s == NetworkNone || s == NetworkHost {
		return ""
	}
	return checkNetworkName(s)
}

// checkNetworkName checks a network's name as package network does (a
// file name of /etc/dockah/networks).
func checkNetworkName(s string) string {
	switch {
	case s == NetworkNone || s == NetworkHost:
		return "is a network mode, not a network name"
	case s == "" || len(s) > 64 || s[0] == '.' || s[0] == '-' || !allIn(s, networkNameChars):
		return "is not a network name"
	}
	return ""
}

const networkNameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

// checkIP checks an IP address without a zone.
func checkIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return "is not an IP address"
	}
	if a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() {
		return "is not an address a container can have"
	}
	return ""
}
