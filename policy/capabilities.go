package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultCaps is the capability set of a container whose definition asks
// for nothing: Podman's, which is Docker's without CAP_NET_RAW (raw and
// packet sockets let a container spoof traffic on its network; ping works
// without it through ICMP datagram sockets), CAP_MKNOD (the root is nodev
// and /dev is made fresh, so a node would be useless to the container
// and is only a hazard) and CAP_AUDIT_WRITE (of the shipped services only
// sshd writes audit records, and its definition adds it).
func DefaultCaps() CapSet {
	return NewCapSet(
		unix.CAP_CHOWN,
		unix.CAP_DAC_OVERRIDE,
		unix.CAP_FSETID,
		unix.CAP_FOWNER,
		unix.CAP_SETGID,
		unix.CAP_SETUID,
		unix.CAP_SETFCAP,
		unix.CAP_SETPCAP,
		unix.CAP_NET_BIND_SERVICE,
		unix.CAP_SYS_CHROOT,
		unix.CAP_KILL,
	)
}

// CapConfig is what a definition says about capabilities.
type CapConfig struct {
	// Add and Drop are capability names (see ParseCap) or "ALL".
	Add, Drop []string
	// UID is the user the entrypoint runs as, resolved inside the image.
	UID uint32
	// Available is what the caller can grant: the shim's own bounding
	// set. A process cannot hand out a capability it lacks (capset fails
	// with EPERM), and a host may withhold some from every process (a
	// nested container, a unit's CapabilityBoundingSet=). "ALL" and the
	// default set are limited to it; a capability added by name that is
	// not available is an error naming it. Zero means every capability
	// this package knows.
	Available CapSet
}

// Caps holds the five capability sets of the container's first process.
type Caps struct {
	Bounding, Effective, Permitted, Inheritable, Ambient CapSet
}

// Capabilities computes the container's capability sets.
//
// The bounding set is the defaults, or every capability when Add holds
// "ALL", or none when Drop holds "ALL"; then Drop is taken away and Add is
// added. A capability both added and dropped by name is an error: the
// definition would be ambiguous. Everything is then limited to
// cfg.Available; ALL means every capability the shim can grant.
//
// For root (UID 0) effective and permitted equal the bounding set. For any
// other user they are empty unless the definition adds capabilities
// explicitly; then the added ones (that survive Drop) are also inheritable
// and ambient, which is the only way a non-root process keeps capabilities
// across execve. Inheritable and ambient are otherwise always empty
// (CVE-2022-24769: a non-empty inheritable set hands capabilities to
// file-capability binaries).
func Capabilities(cfg CapConfig) (Caps, error) {
	add, addAll, errAdd := parseCapList("capabilities_add", cfg.Add)
	drop, dropAll, errDrop := parseCapList("capabilities_drop", cfg.Drop)
	if err := errors.Join(errAdd, errDrop); err != nil {
		return Caps{}, err
	}
	if addAll && dropAll {
		return Caps{}, errors.New("capabilities: ALL is both added and dropped")
	}
	if both := add & drop; both != 0 {
		return Caps{}, fmt.Errorf("capabilities: %s both added and dropped", both)
	}
	avail := cfg.Available
	if avail == 0 {
		avail = AllCaps()
	}
	if missing := add &^ avail; missing != 0 {
		return Caps{}, fmt.Errorf("capabilities_add: the shim cannot grant %s: its own bounding set lacks it (withheld by the host or the unit)", missing)
	}
	var bounding CapSet
	switch {
	case addAll:
		bounding = AllCaps() & avail
		add = bounding
	case dropAll:
		bounding = 0
	default:
		bounding = DefaultCaps() & avail
	}
	bounding = (bounding | add) &^ drop
	added := add &^ drop
	if cfg.UID == 0 {
		return Caps{Bounding: bounding, Effective: bounding, Permitted: bounding}, nil
	}
	return Caps{
		Bounding:    bounding,
		Effective:   added,
		Permitted:   added,
		Inheritable: added,
		Ambient:     added,
	}, nil
}

// parseCapList parses one list of a definition; key names it in errors.
func parseCapList(key string, names []string) (set CapSet, all bool, err error) {
	var errs []error
	for _, n := range names {
		if strings.EqualFold(strings.TrimSpace(n), "ALL") {
			all = true
			continue
		}
		c, err := ParseCap(n)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		set = set.With(c)
	}
	return set, all, errors.Join(errs...)
}

// OCI returns the sets in runtime-spec form. Every list is non-nil, so an
// empty set prints as [] rather than disappearing from config.json.
func (c Caps) OCI() *specs.LinuxCapabilities {
	return &specs.LinuxCapabilities{
		Bounding:    c.Bounding.Names(),
		Effective:   c.Effective.Names(),
		Inheritable: c.Inheritable.Names(),
		Permitted:   c.Permitted.Names(),
		Ambient:     c.Ambient.Names(),
	}
}

// CapsFromOCI is the inverse of Caps.OCI, for a shim that receives a
// runtime spec. Unknown names are an error.
func CapsFromOCI(o *specs.LinuxCapabilities) (Caps, error) {
	if o == nil {
		return Caps{}, nil
	}
	var errs []error
	conv := func(field string, names []string) CapSet {
		var s CapSet
		for _, n := range names {
			c, err := ParseCap(n)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", field, err))
				continue
			}
			s = s.With(c)
		}
		return s
	}
	c := Caps{
		Bounding:    conv("bounding", o.Bounding),
		Effective:   conv("effective", o.Effective),
		Inheritable: conv("inheritable", o.Inheritable),
		Permitted:   conv("permitted", o.Permitted),
		Ambient:     conv("ambient", o.Ambient),
	}
	return c, errors.Join(errs...)
}

// UserData returns the effective, permitted and inheritable sets in the
// layout capset(2) takes with a unix.CapUserHeader of version
// unix.LINUX_CAPABILITY_VERSION_3: two words, low 32 capabilities first.
// The bounding and ambient sets are not part of capset; they are changed
// one capability at a time with prctl(2).
func (c Caps) UserData() [2]unix.CapUserData {
	var d [2]unix.CapUserData
	d[0].Effective, d[1].Effective = c.Effective.Split()
	d[0].Permitted, d[1].Permitted = c.Permitted.Split()
	d[0].Inheritable, d[1].Inheritable = c.Inheritable.Split()
	return d
}
