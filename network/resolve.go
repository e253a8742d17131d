package network

import (
	"net/netip"
	"path/filepath"
	"strings"
)

// Names is what the resolver knows: for each active container's address,
// the names it may resolve, and their addresses.
type Names struct {
	// byAddr maps a container's address to its name.
	byAddr map[netip.Addr]string
	// networks maps a container's name to the networks it is on.
	networks map[string][]string
	// records maps a network to its names (lower case, without the
	// search domain) and their addresses.
	records map[string]map[string][]netip.Addr
}

// NamesOf builds the names of the active leases of states (by network).
// A container's name, its host name and its aliases resolve to its
// addresses on that network.
func NamesOf(states map[string]*State) *Names {
	n := &Names{byAddr: map[netip.Addr]string{}, networks: map[string][]string{}, records: map[string]map[string][]netip.Addr{}}
	for net, st := range states {
		recs := map[string][]netip.Addr{}
		for name, l := range st.Leases {
			if !l.Active() {
				continue
			}
			n.byAddr[l.Addr] = name
			if l.Addr6.IsValid() {
				n.byAddr[l.Addr6] = name
			}
			n.networks[name] = append(n.networks[name], net)
			for _, alias := range append([]string{name, l.Hostname}, l.Aliases...) {
				if alias == "" {
					continue
				}
				k := strings.ToLower(alias)
				recs[k] = append(recs[k], l.Addr)
				if l.Addr6.IsValid() {
					recs[k] = append(recs[k], l.Addr6)
				}
			}
		}
		n.records[net] = recs
	}
	return n
}

// Known reports whether src is the address of an active container.
func (n *Names) Known(src netip.Addr) bool {
	_, ok := n.byAddr[src.Unmap()]
	return ok
}

// Lookup returns the addresses of name (a query name, with or without
// the final dot and the search domain) as the container at src sees
// them: the names of the networks it is on, and nothing of the others.
// found is false when the name is not one of them.
func (n *Names) Lookup(src netip.Addr, name string) (addrs []netip.Addr, found bool) {
	asker, ok := n.byAddr[src.Unmap()]
	if !ok {
		return nil, false
	}
	q := strings.ToLower(strings.TrimSuffix(name, "."))
	q = strings.TrimSuffix(q, "."+SearchDomain)
	if strings.Contains(q, ".") {
		return nil, false
	}
	seen := map[netip.Addr]bool{}
	for _, net := range n.networks[asker] {
		for _, a := range n.records[net][q] {
			if !seen[a] {
				seen[a], found = true, true
				addrs = append(addrs, a)
			}
		}
	}
	return addrs, found
}

// ReadStates reads the state of every network of store.
func ReadStates(store string) map[string]*State {
	out := map[string]*State{}
	for _, name := range StateFiles(store) {
		if st, err := ReadState(filepath.Join(StateDir(store), name+".json")); err == nil {
			out[name] = st
		}
	}
	return out
}
