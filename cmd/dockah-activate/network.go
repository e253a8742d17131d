package main

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/network"
)

// joinNetworks gives a container on networks its addresses (under each
// network's lock, with the bridge and firewall rules made if missing) and
// the /etc/hosts and /etc/resolv.conf that go with them, and returns what
// attaches it once its network namespace exists (StartOptions.Network)
// and its address on its first network, where the forwarder connects. A
// container without networks gets nil and the zero address.
func joinNetworks(name string, prep *launch.Prepared) (func(int) error, netip.Addr, error) {
	def := prep.Definition
	if !def.Container.JoinsNetworks() {
		return nil, netip.Addr{}, nil
	}
	network.Trace = activation.Trace
	var nets []*network.Network
	for _, n := range def.Container.Networks {
		net, err := network.Load(definitionFS, n)
		if err != nil {
			return nil, netip.Addr{}, launch.ConfigError{Err: err}
		}
		nets = append(nets, net)
	}
	activation.Trace("shim: networks loaded")
	var addrs []netip.Addr
	for _, s := range def.Container.IP {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, netip.Addr{}, launch.ConfigError{Err: fmt.Errorf("ip %q: %w", s, err)}
		}
		addrs = append(addrs, a)
	}
	hostname := prep.Config.Spec.Hostname
	atts, err := network.Join(launch.StoreRoot(), nets, network.Request{
		Container: name, Addrs: addrs, Hostname: hostname, Aliases: def.Container.Aliases, Holder: network.Self(),
	})
	if err != nil {
		return nil, netip.Addr{}, err
	}
	activation.Trace("shim: networks joined")
	host, _ := os.ReadFile("/etc/resolv.conf")
	prep.Config.Files["/etc/hosts"] = network.HostsFile(atts, hostname, name)
	prep.Config.Files["/etc/resolv.conf"] = network.ResolvConf(atts, string(host))
	return func(netns int) error {
		err := network.Attach(atts, netns)
		activation.Trace("shim: networks attached")
		return err
	}, atts[0].Lease.Addr, nil
}

// leaveNetworks is the network part of a container's stop: its leases,
// its veths, and a network's bridge and rules when it was the last one.
func leaveNetworks(name string) {
	if err := network.Leave(launch.StoreRoot(), name); err != nil {
		fmt.Fprintf(os.Stderr, "dockah-activate: container %s: leave networks: %v\n", name, err)
	}
}
