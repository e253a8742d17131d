package network

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"net/netip"
	"slices"
	"sort"
)

// State is what a network remembers between starts: the subnet picked at
// its first use and the leases of its containers. It lives in the store
// (see OpenState) and is changed only under the network's lock.
type State struct {
	// Subnet is the IPv4 subnet picked at the first use of a network
	// whose definition has none.
	Subnet netip.Prefix `json:"subnet,omitzero"`
	// BootID is the kernel's boot id when the state was last written: a
	// holder of another boot is not alive.
	BootID string `json:"boot_id,omitempty"`
	// Bridge and Internal are the network's as of its last start, for
	// the teardown after its last container (whose definition may have
	// gone since).
	Bridge   string `json:"bridge,omitempty"`
	Internal bool   `json:"internal,omitempty"`
	// Leases are the containers' addresses, by container name.
	Leases map[string]*Lease `json:"leases,omitempty"`
}

// Lease is a container's place on a network. A lease stays when its
// container stops (Holder is cleared), so that the container gets the
// same address at its next start; another container takes it over only
// when every other address is in use.
type Lease struct {
	Addr  netip.Addr `json:"addr"`
	Addr6 netip.Addr `json:"addr6,omitzero"`
	// Hostname and Aliases are the names the resolver answers with Addr.
	Hostname string   `json:"hostname,omitempty"`
	Aliases  []string `json:"aliases,omitempty"`
	// Holder is the process that holds the lease while the container
	// runs; the zero Holder means the container is stopped.
	Holder Holder `json:"holder,omitzero"`
}

// Active reports whether the lease is held by a container that runs.
func (l *Lease) Active() bool { return l.Holder.Pid != 0 }

// Holder identifies a process across pid reuse: its pid and its start
// time in clock ticks since boot (field 22 of /proc/PID/stat).
type Holder struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// Request is what a container asks of a network.
type Request struct {
	Container string
	// Addrs are the addresses the definition asks for (ip =); those that
	// lie in this network's subnets apply.
	Addrs    []netip.Addr
	Hostname string
	Aliases  []string
	Holder   Holder
}

// ErrFull is returned when a network has no address left.
var ErrFull = errors.New("no free address")

// Allocate gives r.Container its lease on n (whose subnets are set) in
// st: the address it asked for, else the one it had, else a free one
// picked from a hash of its name (so that it is the same after a reboot
// that lost the state, as long as it is free), else the address of a
// stopped container. alive reports whether a holder still runs; leases of
// holders that do not are released first. It returns the lease, which
// st now holds.
func Allocate(st *State, n *Network, r Request, alive func(*Lease) bool) (*Lease, error) {
	if st.Leases == nil {
		st.Leases = map[string]*Lease{}
	}
	Reap(st, n, alive)
	want4, want6, err := wanted(n, r.Addrs)
	if err != nil {
		return nil, err
	}
	lease := st.Leases[r.Container]
	if lease == nil {
		lease = &Lease{}
	}
	delete(st.Leases, r.Container) // not in the way of its own choice
	addr, err := pick(st, n.Subnet, n.Gateway, want4, lease.Addr, r.Container)
	if err != nil {
		return nil, fmt.Errorf("network %s (%s): %w", n.Name, n.Subnet, err)
	}
	var addr6 netip.Addr
	if n.Subnet6.IsValid() {
		if addr6, err = pick(st, n.Subnet6, n.Gateway6, want6, lease.Addr6, r.Container); err != nil {
			return nil, fmt.Errorf("network %s (%s): %w", n.Name, n.Subnet6, err)
		}
	}
	lease = &Lease{Addr: addr, Addr6: addr6, Hostname: r.Hostname, Aliases: slices.Clone(r.Aliases), Holder: r.Holder}
	st.Leases[r.Container] = lease
	return lease, nil
}

// Reap releases the leases whose holders are not alive, and drops those
// outside the network's subnets (its definition changed).
func Reap(st *State, n *Network, alive func(*Lease) bool) {
	for name, l := range st.Leases {
		if !n.Subnet.Contains(l.Addr) || (l.Addr6.IsValid() && !n.Subnet6.Contains(l.Addr6)) {
			delete(st.Leases, name)
			continue
		}
		if l.Active() && !alive(l) {
			l.Holder = Holder{}
		}
	}
}

// Release marks the container's lease stopped; it reports whether it had
// an active one.
func Release(st *State, container string) bool {
	l := st.Leases[container]
	if l == nil || !l.Active() {
		return false
	}
	l.Holder = Holder{}
	return true
}

// ActiveCount returns the number of active leases.
func (st *State) ActiveCount() int {
	n := 0
	for _, l := range st.Leases {
		if l.Active() {
			n++
		}
	}
	return n
}

// wanted splits the requested addresses into this network's IPv4 and
// IPv6 ones; a requested address outside every subnet of n is not for n.
func wanted(n *Network, addrs []netip.Addr) (v4, v6 netip.Addr, err error) {
	for _, a := range addrs {
		switch {
		case n.Subnet.Contains(a):
			if v4.IsValid() {
				return v4, v6, fmt.Errorf("network %s: two addresses asked for in %s", n.Name, n.Subnet)
			}
			v4 = a
		case n.Subnet6.IsValid() && n.Subnet6.Contains(a):
			if v6.IsValid() {
				return v4, v6, fmt.Errorf("network %s: two addresses asked for in %s", n.Name, n.Subnet6)
			}
			v6 = a
		}
	}
	return v4, v6, nil
}

// pick chooses an address of subnet (not the network address, the
// gateway or the IPv4 broadcast address): want when given, else prev if
// free, else a free one from the hash of name, else the address of the
// stopped lease that comes first by name, whose lease is dropped.
func pick(st *State, subnet netip.Prefix, gateway, want, prev netip.Addr, name string) (netip.Addr, error) {
	usable := func(a netip.Addr) bool {
		return subnet.Contains(a) && a != subnet.Addr() && a != gateway && !(a.Is4() && a == lastAddr(subnet))
	}
	holder := func(a netip.Addr) (string, *Lease) {
		for other, l := range st.Leases {
			if l.Addr == a || l.Addr6 == a {
				return other, l
			}
		}
		return "", nil
	}
	if want.IsValid() {
		if !usable(want) {
			return netip.Addr{}, fmt.Errorf("%s is the network, gateway or broadcast address", want)
		}
		other, l := holder(want)
		if l != nil && l.Active() {
			return netip.Addr{}, fmt.Errorf("%s is in use by %s", want, other)
		}
		delete(st.Leases, other)
		return want, nil
	}
	if prev.IsValid() && usable(prev) {
		if _, l := holder(prev); l == nil {
			return prev, nil
		}
	}
	taken := map[netip.Addr]bool{}
	for _, l := range st.Leases {
		taken[l.Addr], taken[l.Addr6] = true, true
	}
	size := hostCount(subnet)
	h := fnv.New64a()
	h.Write([]byte(name))
	start := new(big.Int).Mod(new(big.Int).SetUint64(h.Sum64()), size)
	// Probe at most 65536 addresses: an IPv6 subnet is never that full.
	limit := int64(65536)
	if size.IsInt64() && size.Int64() < limit {
		limit = size.Int64()
	}
	for i := int64(0); i < limit; i++ {
		off := new(big.Int).Add(start, big.NewInt(i))
		off.Mod(off, size)
		a := offset(subnet, off)
		if usable(a) && !taken[a] {
			return a, nil
		}
	}
	// Every address is leased: take a stopped container's.
	names := make([]string, 0, len(st.Leases))
	for other := range st.Leases {
		names = append(names, other)
	}
	sort.Strings(names)
	for _, other := range names {
		l := st.Leases[other]
		if l.Active() {
			continue
		}
		a := l.Addr
		if subnet.Addr().Is6() {
			a = l.Addr6
		}
		if usable(a) {
			delete(st.Leases, other)
			return a, nil
		}
	}
	return netip.Addr{}, ErrFull
}

// hostCount returns the number of addresses of p.
func hostCount(p netip.Prefix) *big.Int {
	return new(big.Int).Lsh(big.NewInt(1), uint(p.Addr().BitLen()-p.Bits()))
}

// offset returns the address off addresses after the start of p.
func offset(p netip.Prefix, off *big.Int) netip.Addr {
	base := new(big.Int).SetBytes(p.Masked().Addr().AsSlice())
	base.Add(base, off)
	b := base.FillBytes(make([]byte, p.Addr().BitLen()/8))
	a, _ := netip.AddrFromSlice(b)
	return a
}
