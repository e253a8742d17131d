package policy

import (
	"fmt"
	"math/bits"
	"strings"

	"golang.org/x/sys/unix"
)

// Cap is one Linux capability, by its kernel number (CAP_CHOWN is 0).
type Cap uint8

// capNames maps every capability this package knows to its canonical name.
// The numbers come from x/sys/unix so a typo cannot shift a bit.
var capNames = map[Cap]string{
	unix.CAP_CHOWN:              "CAP_CHOWN",
	unix.CAP_DAC_OVERRIDE:       "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH:    "CAP_DAC_READ_SEARCH",
	unix.CAP_FOWNER:             "CAP_FOWNER",
	unix.CAP_FSETID:             "CAP_FSETID",
	unix.CAP_KILL:               "CAP_KILL",
	unix.CAP_SETGID:             "CAP_SETGID",
	unix.CAP_SETUID:             "CAP_SETUID",
	unix.CAP_SETPCAP:            "CAP_SETPCAP",
	unix.CAP_LINUX_IMMUTABLE:    "CAP_LINUX_IMMUTABLE",
	unix.CAP_NET_BIND_SERVICE:   "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST:      "CAP_NET_BROADCAST",
	unix.CAP_NET_ADMIN:          "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:            "CAP_NET_RAW",
	unix.CAP_IPC_LOCK:           "CAP_IPC_LOCK",
	unix.CAP_IPC_OWNER:          "CAP_IPC_OWNER",
	unix.CAP_SYS_MODULE:         "CAP_SYS_MODULE",
	unix.CAP_SYS_RAWIO:          "CAP_SYS_RAWIO",
	unix.CAP_SYS_CHROOT:         "CAP_SYS_CHROOT",
	unix.CAP_SYS_PTRACE:         "CAP_SYS_PTRACE",
	unix.CAP_SYS_PACCT:          "CAP_SYS_PACCT",
	unix.CAP_SYS_ADMIN:          "CAP_SYS_ADMIN",
	unix.CAP_SYS_BOOT:           "CAP_SYS_BOOT",
	unix.CAP_SYS_NICE:           "CAP_SYS_NICE",
	unix.CAP_SYS_RESOURCE:       "CAP_SYS_RESOURCE",
	unix.CAP_SYS_TIME:           "CAP_SYS_TIME",
	unix.CAP_SYS_TTY_CONFIG:     "CAP_SYS_TTY_CONFIG",
	unix.CAP_MKNOD:              "CAP_MKNOD",
	unix.CAP_LEASE:              "CAP_LEASE",
	unix.CAP_AUDIT_WRITE:        "CAP_AUDIT_WRITE",
	unix.CAP_AUDIT_CONTROL:      "CAP_AUDIT_CONTROL",
	unix.CAP_SETFCAP:            "CAP_SETFCAP",
	unix.CAP_MAC_OVERRIDE:       "CAP_MAC_OVERRIDE",
	unix.CAP_MAC_ADMIN:          "CAP_MAC_ADMIN",
	unix.CAP_SYSLOG:             "CAP_SYSLOG",
	unix.CAP_WAKE_ALARM:         "CAP_WAKE_ALARM",
	unix.CAP_BLOCK_SUSPEND:      "CAP_BLOCK_SUSPEND",
	unix.CAP_AUDIT_READ:         "CAP_AUDIT_READ",
	unix.CAP_PERFMON:            "CAP_PERFMON",
	unix.CAP_BPF:                "CAP_BPF",
	unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
}

// LastCap is the highest capability this package knows. A kernel may know
// fewer (read /proc/sys/kernel/cap_last_cap before dropping from the
// bounding set) or more (those are never granted).
const LastCap Cap = unix.CAP_CHECKPOINT_RESTORE

// capByName is the reverse of capNames, filled once.
var capByName = func() map[string]Cap {
	m := make(map[string]Cap, len(capNames))
	for c, n := range capNames {
		m[n] = c
	}
	return m
}()

// String returns the canonical name, CAP_ prefix included.
func (c Cap) String() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return fmt.Sprintf("CAP_%d", uint8(c))
}

// ParseCap accepts a capability name with or without the CAP_ prefix, in
// any case: "net_admin", "CAP_NET_ADMIN" and "Cap_Net_Admin" are the same.
// An unknown name is an error that lists the accepted ones.
func ParseCap(name string) (Cap, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	if c, ok := capByName[n]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("unknown capability %q (accepted: ALL, %s)", name, strings.Join(AllCaps().shortNames(), ", "))
}

// CapSet is a set of capabilities as a bit mask: bit N is capability N,
// the layout capget(2), capset(2) and /proc/PID/status use.
type CapSet uint64

// AllCaps is every capability this package knows, up to LastCap.
func AllCaps() CapSet { return CapSet(1)<<(LastCap+1) - 1 }

// NewCapSet returns the set holding caps.
func NewCapSet(caps ...Cap) CapSet {
	var s CapSet
	for _, c := range caps {
		s = s.With(c)
	}
	return s
}

// Has reports whether c is in the set.
func (s CapSet) Has(c Cap) bool { return c <= 63 && s&(1<<c) != 0 }

// With returns the set with c added.
func (s CapSet) With(c Cap) CapSet { return s | 1<<c }

// Without returns the set with c removed.
func (s CapSet) Without(c Cap) CapSet { return s &^ (1 << c) }

// Len is the number of capabilities in the set.
func (s CapSet) Len() int { return bits.OnesCount64(uint64(s)) }

// List returns the capabilities in the set in ascending number.
func (s CapSet) List() []Cap {
	out := make([]Cap, 0, s.Len())
	for c := Cap(0); c < 64; c++ {
		if s.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

// Names returns the canonical names (CAP_ prefixed) in ascending number,
// the form OCI runtime specs use. It is never nil, so it marshals as [].
func (s CapSet) Names() []string {
	out := make([]string, 0, s.Len())
	for _, c := range s.List() {
		out = append(out, c.String())
	}
	return out
}

// shortNames returns the names without the CAP_ prefix, for messages.
func (s CapSet) shortNames() []string {
	out := s.Names()
	for i, n := range out {
		out[i] = strings.TrimPrefix(n, "CAP_")
	}
	return out
}

// String lists the set as "CHOWN,KILL" (empty set: "none").
func (s CapSet) String() string {
	if s == 0 {
		return "none"
	}
	return strings.Join(s.shortNames(), ",")
}

// Split returns the low and high 32-bit halves, the two words capset(2)
// takes for each set (struct __user_cap_data_struct[2], version 3).
func (s CapSet) Split() (lo, hi uint32) { return uint32(s), uint32(s >> 32) }
