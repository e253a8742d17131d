package network

import (
	"errors"
	"net/netip"
)

// ErrNoSubnet is returned when every candidate subnet clashes.
var ErrNoSubnet = errors.New("no free subnet: every candidate in 10.90.0.0/16 to 10.99.0.0/16 clashes with a route or another network (set subnet in the definition)")

// ChooseSubnet returns the first /24 of 10.90.0.0/16 to 10.99.0.0/16 that
// overlaps none of used: the destinations of the host's routes and the
// subnets of the other networks. Default routes (/0) are ignored, since
// they overlap everything. Podman's 10.88.0.0/16 and 10.89.0.0/16 and
// Docker's 172.17.0.0/16 are outside the range, so that a network of
// theirs started later does not clash either.
func ChooseSubnet(used []netip.Prefix) (netip.Prefix, error) {
	for second := 90; second <= 99; second++ {
		for third := 0; third < 256; third++ {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(second), byte(third), 0}), 24)
			if !overlapsAny(p, used) {
				return p, nil
			}
		}
	}
	return netip.Prefix{}, ErrNoSubnet
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if u.IsValid() && u.Bits() > 0 && u.Overlaps(p) {
			return true
		}
	}
	return false
}

// Clash returns the first of routes that overlaps the network's subnets,
// other than a route through its own bridge (the caller leaves those
// out), or an invalid Prefix.
func Clash(n *Network, routes []netip.Prefix) netip.Prefix {
	for _, r := range routes {
		if !r.IsValid() || r.Bits() == 0 {
			continue
		}
		if (n.Subnet.IsValid() && r.Overlaps(n.Subnet)) || (n.Subnet6.IsValid() && r.Overlaps(n.Subnet6)) {
			return r
		}
	}
	return netip.Prefix{}
}
