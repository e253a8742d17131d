// Package network is dockah's container networks: their definitions, the
// choice of a subnet, the allocation of addresses, and, in its _linux.go
// files, the setup and teardown of bridges, veths and firewall rules.
//
// A network is a TOML file, /etc/dockah/networks/NAME.toml, with the same
// search path, masking and drop-ins as a container's definition; the
// network Default ("dockah") exists without one. Parsing and checking a
// definition, choosing a subnet that clashes with none of the host's
// routes, and allocating an address (Allocate) are pure: they take what
// they need as arguments and are tested without root. The state of a
// network (its subnet when it was picked at first use, and the leases of
// its containers) is a small JSON file in the image store, changed under
// an exclusive flock (state_linux.go); the kernel objects are made with
// netlink and nftables (setup_linux.go, firewall_linux.go), never through
// a helper process, so that a container's start pays well under a
// millisecond for its network.
//
// Boundary: network imports nothing of dockah's but internal/tomldiag. It
// never creates a container or a namespace: the shim hands it the
// container's network namespace, and it moves one end of a veth there.
//
// Invariants callers rely on:
//
//   - Parse gives the same Network for the same files on every machine;
//     what depends on the host (a subnet picked at first use) lives in the
//     state, never in the Network.
//   - Every problem of a definition is a *tomldiag.Diagnostic naming the
//     file, the line and the key, joined with errors.Join.
//   - Allocate never gives one address to two active leases, and gives a
//     container the address it had before whenever it is still free.
package network
