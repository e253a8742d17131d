package network

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
)

// Default is the network that exists without a definition file, as
// podman's "podman" network does: its subnet is picked at its first use.
const Default = "dockah"

// DNSAddress is where the containers of every network with DNS find the
// resolver, dockah-dns.socket: a link-local address in the block RFC 3927
// reserves (169.254.0.0/24 is never picked by zeroconf hosts), added to
// each bridge as a /32. One address for all networks lets a static socket
// unit listen on it; the resolver tells the networks apart by the source
// address of a query.
var DNSAddress = netip.MustParseAddr("169.254.0.53")

// Network is a network definition, defaults applied.
type Network struct {
	// Name is the network's name, the file name without ".toml".
	Name string
	// File is the definition's main file; empty for Default without one.
	File string
	// Subnet is the IPv4 subnet; invalid (the zero Prefix) when it is to
	// be picked at the first use (see ChooseSubnet).
	Subnet netip.Prefix
	// Gateway is the bridge's IPv4 address; invalid: the first address
	// of Subnet.
	Gateway netip.Addr
	// Subnet6 and Gateway6 are the optional IPv6 subnet and gateway.
	Subnet6  netip.Prefix
	Gateway6 netip.Addr
	// Internal networks have no route out: no masquerading, no
	// forwarding beyond the bridge, and no default route in the
	// containers.
	Internal bool
	// DNS makes the containers resolve each other by name through
	// dockah-dns; without it they get the host's resolvers.
	DNS bool
	// Bridge is the name of the bridge device.
	Bridge string
	// MTU of the bridge and the veths; 0: the kernel's default.
	MTU int
}

// BridgePrefix starts the name of every bridge dockah makes; the
// firewall rules of one network match the others' bridges by it.
const BridgePrefix = "dk-"

// BridgeName is the bridge of a network named name: "dk-NAME" when that
// fits an interface name (15 bytes), else "dk-" and a hash of the name.
func BridgeName(name string) string {
	if len(BridgePrefix)+len(name) <= maxIfName && ifNameOK(name) {
		return BridgePrefix + name
	}
	sum := sha256.Sum256([]byte(name))
	return BridgePrefix + hex.EncodeToString(sum[:])[:maxIfName-len(BridgePrefix)]
}

// maxIfName is the longest interface name Linux takes (IFNAMSIZ - 1).
const maxIfName = 15

func ifNameOK(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > maxIfName {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.-", r)) {
			return false
		}
	}
	return true
}

// DefaultNetwork returns the network Default as it is without a file.
func DefaultNetwork() *Network {
	return &Network{Name: Default, DNS: true, Bridge: BridgeName(Default)}
}

// WithSubnet returns n with its subnet set to p when it has none yet (a
// subnet picked at first use), and its gateways defaulted.
func (n *Network) WithSubnet(p netip.Prefix) *Network {
	c := *n
	if !c.Subnet.IsValid() {
		c.Subnet = p
	}
	if !c.Gateway.IsValid() && c.Subnet.IsValid() {
		c.Gateway = c.Subnet.Addr().Next()
	}
	if !c.Gateway6.IsValid() && c.Subnet6.IsValid() {
		c.Gateway6 = c.Subnet6.Addr().Next()
	}
	return &c
}
