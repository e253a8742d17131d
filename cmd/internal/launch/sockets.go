package launch

import (
	"fmt"

	"github.com/dockah/dockah/unitgen"
)

// PassedSocket is one fd systemd passed, matched to its [[socket]].
type PassedSocket struct {
	// Index is the fd's position among the passed fds (fd 3+Index).
	Index int
	// Name is its LISTEN_FDNAMES name.
	Name string
	// Port is the container port to forward to; 0 passes the fd in.
	Port int
	// Datagram is set for a datagram socket.
	Datagram bool
}

// MatchSockets pairs the passed fds, named as in LISTEN_FDNAMES, with the
// definition's sockets. systemd passes the fds of each socket unit in the
// order of its Listen lines, and every unit has its own FileDescriptorName
// (see unitgen.Definition.SocketUnits), so the k-th fd of a name is the
// k-th socket of that name's unit. An fd that matches nothing (a socket
// unit added by hand with Sockets=) is passed in as it is.
func MatchSockets(def *unitgen.Definition, names []string) ([]PassedSocket, error) {
	return matchSockets(socketGroups(def), names)
}

// socketGroups are the definition's sockets by their unit's fd name.
func socketGroups(def *unitgen.Definition) map[string][]socketSpec {
	groups := map[string][]socketSpec{}
	for _, u := range def.SocketUnits() {
		for _, s := range u.Sockets {
			groups[u.FDName] = append(groups[u.FDName], socketSpec{Port: s.Port, Datagram: s.Type == unitgen.SocketDatagram})
		}
	}
	return groups
}

func matchSockets(groups map[string][]socketSpec, names []string) ([]PassedSocket, error) {
	seen := map[string]int{}
	out := make([]PassedSocket, len(names))
	for i, name := range names {
		out[i] = PassedSocket{Index: i, Name: name}
		k := seen[name]
		seen[name]++
		group, ok := groups[name]
		if !ok {
			continue
		}
		if k >= len(group) {
			return nil, fmt.Errorf("systemd passed %d sockets named %q, the definition declares %d", k+1, name, len(group))
		}
		out[i].Port = group[k].Port
		out[i].Datagram = group[k].Datagram
	}
	return out, nil
}
