package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Attachment is a container's place on one network, once allocated.
type Attachment struct {
	// Network has its subnets set.
	Network *Network
	Lease   *Lease
	// Interface is the container's end of the veth: eth0, eth1...
	Interface string
}

// VethName is the host's end of the veth of the container with the
// address addr: "dkv" and the address in hex. Subnets of networks never
// overlap, so the name is unique on the host, and a start finds the veth
// a killed predecessor of the same address left.
func VethName(addr netip.Addr) string {
	b := addr.As4()
	return fmt.Sprintf("dkv%02x%02x%02x%02x", b[0], b[1], b[2], b[3])
}

// Trace, if set, is called at each step of a join, for DOCKAH_TRACE (the
// shim sets it to activation.Trace).
var Trace func(step string)

func trace(step string) {
	if Trace != nil {
		Trace(step)
	}
}

// Join gives the container r.Container its leases on nets, in order
// (eth0 on the first), and makes sure each network's bridge, firewall
// rules and forwarding are in place, under the network's lock. A network
// without a subnet gets one that clashes with none of the host's routes
// nor with another network of the store, kept in its state.
func Join(store string, nets []*Network, r Request) ([]Attachment, error) {
	var out []Attachment
	for i, n := range nets {
		lease, withSubnet, err := join(store, n, r)
		if err != nil {
			return nil, err
		}
		out = append(out, Attachment{Network: withSubnet, Lease: lease, Interface: "eth" + strconv.Itoa(i)})
	}
	return out, nil
}

func join(store string, n *Network, r Request) (*Lease, *Network, error) {
	lk, err := OpenState(store, n.Name)
	if err != nil {
		return nil, nil, err
	}
	defer lk.Close()
	trace("network: state read")
	st := lk.State
	if !n.Subnet.IsValid() {
		if !st.Subnet.IsValid() {
			if st.Subnet, err = pickSubnet(store, n.Name); err != nil {
				return nil, nil, fmt.Errorf("network %s: %w", n.Name, err)
			}
		}
		n = n.WithSubnet(st.Subnet)
	}
	st.Bridge, st.Internal = n.Bridge, n.Internal
	if err := ensureNetwork(n); err != nil {
		return nil, nil, fmt.Errorf("network %s: %w", n.Name, err)
	}
	trace("network: firewall checked")
	lease, err := Allocate(st, n, r, alive)
	if err != nil {
		return nil, nil, err
	}
	trace("network: lease allocated")
	if err := lk.Save(); err != nil {
		return nil, nil, err
	}
	trace("network: state saved")
	return lease, n, nil
}

// alive reports whether a lease's container still runs: the process that
// took the lease runs (a start under way), or the veth of the address
// exists (it goes with the container's network namespace).
func alive(l *Lease) bool {
	if holderAlive(l.Holder) {
		return true
	}
	ok, err := linkExists(VethName(l.Addr))
	return ok || err != nil // in doubt, alive: its address is not handed out
}

// pickSubnet chooses the subnet of a network without one: none of the
// host's routes, in every routing table, nor another network's subnet.
func pickSubnet(store, name string) (netip.Prefix, error) {
	used, err := HostRoutes(-1)
	if err != nil {
		return netip.Prefix{}, err
	}
	for _, other := range StateFiles(store) {
		if other == name {
			continue
		}
		if st, err := ReadState(StateDir(store) + "/" + other + ".json"); err == nil && st.Subnet.IsValid() {
			used = append(used, st.Subnet)
		}
	}
	return ChooseSubnet(used)
}

// HostRoutes returns the destinations of the host's routes of every
// table, leaving out those through the link skip.
func HostRoutes(skip int) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlink.RouteListFiltered(family, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return nil, fmt.Errorf("list routes: %w", err)
		}
		for _, rt := range routes {
			if rt.Dst == nil || rt.LinkIndex == skip {
				continue
			}
			if p, ok := prefixOf(rt.Dst); ok {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), bits), true
}

func ipNet(p netip.Prefix, a netip.Addr) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}

// ensureNetwork makes the network's bridge (with its gateways and the
// resolver's address), its firewall table and the forwarding it needs,
// each only when missing: at every start, an ioctl, a read and one
// netlink round trip.
func ensureNetwork(n *Network) error {
	if err := ensureBridge(n); err != nil {
		return err
	}
	if !n.Internal {
		if err := enableForwarding(n.Subnet6.IsValid()); err != nil {
			return err
		}
	}
	trace("network: bridge checked")
	return ensureFirewall(n)
}

// linkExists reports whether the interface name exists in the caller's
// network namespace: one ioctl, where a netlink lookup (or
// net.InterfaceByName, which lists every link) costs a socket and a
// round trip or more, on every start.
func linkExists(name string) (bool, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return false, err
	}
	err = unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr)
	if errors.Is(err, unix.ENODEV) {
		return false, nil
	}
	return err == nil, err
}

func ensureBridge(n *Network) error {
	if ok, err := linkExists(n.Bridge); err != nil {
		return fmt.Errorf("look up bridge %s: %w", n.Bridge, err)
	} else if ok {
		return nil
	}
	routes, err := HostRoutes(-1)
	if err != nil {
		return err
	}
	if c := Clash(n, routes); c.IsValid() {
		return fmt.Errorf("subnet clashes with the host's route to %s", c)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = n.Bridge, n.MTU
	br := &netlink.Bridge{LinkAttrs: attrs}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s: %w", n.Bridge, err)
	}
	addrs := []*netlink.Addr{{IPNet: ipNet(n.Subnet, n.Gateway)}}
	if n.DNS {
		addrs = append(addrs, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(DNSAddress, 32), DNSAddress)})
	}
	if n.Subnet6.IsValid() {
		addrs = append(addrs, &netlink.Addr{IPNet: ipNet(n.Subnet6, n.Gateway6), Flags: unix.IFA_F_NODAD})
	}
	for _, a := range addrs {
		if err := netlink.AddrAdd(br, a); err != nil {
			_ = netlink.LinkDel(br)
			return fmt.Errorf("address %s on bridge %s: %w", a.IPNet, n.Bridge, err)
		}
	}
	if err := netlink.LinkSetUp(br); err != nil {
		_ = netlink.LinkDel(br)
		return fmt.Errorf("bring up bridge %s: %w", n.Bridge, err)
	}
	return nil
}

// enableForwarding turns on IPv4 (and IPv6) forwarding, as podman and
// docker do: the host routes the containers' traffic out.
func enableForwarding(v6 bool) error {
	files := []string{"/proc/sys/net/ipv4/ip_forward"}
	if v6 {
		files = append(files, "/proc/sys/net/ipv6/conf/all/forwarding")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil && strings.TrimSpace(string(data)) == "1" {
			continue
		}
		if err := os.WriteFile(f, []byte("1\n"), 0o644); err != nil {
			return fmt.Errorf("enable forwarding: %w", err)
		}
	}
	return nil
}

// Attach creates the veths of atts, one end in the network's bridge and
// the other in the network namespace netns (an fd) under its
// Interface name, and gives that end its addresses and the container its
// routes: the default route through the first network that is not
// internal, and the resolver's address through the first with DNS.
func Attach(atts []Attachment, nsfd int) error {
	h, err := netlink.NewHandleAt(netns.NsHandle(nsfd))
	if err != nil {
		return fmt.Errorf("netlink in the container: %w", err)
	}
	defer h.Close()
	defaultSet, dnsRouted := false, false
	for _, a := range atts {
		if err := attachOne(h, a, nsfd); err != nil {
			return fmt.Errorf("network %s: %w", a.Network.Name, err)
		}
		n := a.Network
		peer, err := h.LinkByName(a.Interface)
		if err != nil {
			return err
		}
		if !n.Internal && !defaultSet {
			defaultSet = true
			if err := h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: n.Gateway.AsSlice()}); err != nil {
				return fmt.Errorf("default route: %w", err)
			}
			if n.Subnet6.IsValid() {
				if err := h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: n.Gateway6.AsSlice()}); err != nil {
					return fmt.Errorf("default IPv6 route: %w", err)
				}
			}
			dnsRouted = true
		}
		if n.DNS && !dnsRouted {
			dnsRouted = true
			dst := ipNet(netip.PrefixFrom(DNSAddress, 32), DNSAddress)
			if err := h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Dst: dst, Gw: n.Gateway.AsSlice()}); err != nil {
				return fmt.Errorf("route to the resolver: %w", err)
			}
		}
	}
	return nil
}

// attachOne makes one veth and configures its container end.
func attachOne(h *netlink.Handle, a Attachment, nsfd int) error {
	n, l := a.Network, a.Lease
	name := VethName(l.Addr)
	// A veth of this address left by a killed container that held it
	// (its namespace being torn down) is in the way: remove it.
	if old, err := netlink.LinkByName(name); err == nil {
		_ = netlink.LinkDel(old)
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.MasterIndex, attrs.Flags = name, n.MTU, br.Attrs().Index, net.FlagUp
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: a.Interface, PeerNamespace: netlink.NsFd(nsfd)}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", name, err)
	}
	peer, err := h.LinkByName(a.Interface)
	if err != nil {
		return fmt.Errorf("find %s in the container: %w", a.Interface, err)
	}
	if err := h.AddrAdd(peer, &netlink.Addr{IPNet: ipNet(n.Subnet, l.Addr)}); err != nil {
		return fmt.Errorf("address %s: %w", l.Addr, err)
	}
	if l.Addr6.IsValid() {
		if err := h.AddrAdd(peer, &netlink.Addr{IPNet: ipNet(n.Subnet6, l.Addr6), Flags: unix.IFA_F_NODAD}); err != nil {
			return fmt.Errorf("address %s: %w", l.Addr6, err)
		}
	}
	if err := h.LinkSetUp(peer); err != nil {
		return fmt.Errorf("bring up %s: %w", a.Interface, err)
	}
	return nil
}

// Leave releases the leases of container on every network of store,
// removes its veths, and removes the bridge and the firewall rules of a
// network that no running container is on any more. It is the teardown
// of a container's stop (and is harmless when nothing is left).
func Leave(store, container string) error {
	var errs []error
	for _, name := range StateFiles(store) {
		if err := leave(store, name, container); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func leave(store, name, container string) error {
	lk, err := OpenState(store, name)
	if err != nil {
		return err
	}
	defer lk.Close()
	st := lk.State
	l := st.Leases[container]
	if l == nil || !l.Active() {
		// Not on this network (network = "none" or another): nothing
		// of the container's to release, and its stop may run in a
		// network namespace of its own (PrivateNetwork=), where no veth
		// of this network is seen and every lease would look dead.
		return nil
	}
	if link, err := netlink.LinkByName(VethName(l.Addr)); err == nil {
		_ = netlink.LinkDel(link)
	}
	changed := Release(st, container)
	if ok, err := linkExists(st.Bridge); err != nil || !ok {
		// The bridge is not to be seen here: neither whether the other
		// containers' veths exist. Their leases stay as they are.
		if changed {
			return lk.Save()
		}
		return nil
	}
	for _, l := range st.Leases {
		if l.Active() && !alive(l) {
			l.Holder, changed = Holder{}, true
		}
	}
	if st.ActiveCount() == 0 && st.Bridge != "" {
		if link, err := netlink.LinkByName(st.Bridge); err == nil {
			if err := netlink.LinkDel(link); err != nil {
				return fmt.Errorf("remove bridge %s: %w", st.Bridge, err)
			}
		}
		if err := removeFirewall(name); err != nil {
			return err
		}
	}
	if changed {
		return lk.Save()
	}
	return nil
}

// Forget drops the container's leases on every network, for a container
// that is gone for good (dockah run --rm): its address is no longer kept
// for its name. Call it after Leave.
func Forget(store, container string) error {
	var errs []error
	for _, name := range StateFiles(store) {
		lk, err := OpenState(store, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", name, err))
			continue
		}
		if l := lk.State.Leases[container]; l != nil && !l.Active() {
			delete(lk.State.Leases, container)
			if err := lk.Save(); err != nil {
				errs = append(errs, fmt.Errorf("network %s: %w", name, err))
			}
		}
		lk.Close()
	}
	return errors.Join(errs...)
}
