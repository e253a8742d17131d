package network

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func testNet() *Network {
	return (&Network{Name: "app", Bridge: "dk-app", DNS: true}).WithSubnet(pfx("10.90.0.0/24"))
}

func alwaysAlive(*Lease) bool { return true }

func TestAllocateDistinctAndStable(t *testing.T) {
	st := &State{}
	n := testNet()
	seen := map[netip.Addr]string{}
	for i := range 20 {
		name := "c" + strconv.Itoa(i)
		l, err := Allocate(st, n, Request{Container: name, Holder: Holder{Pid: 100 + i, Start: 1}}, alwaysAlive)
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := seen[l.Addr]; dup {
			t.Fatalf("%s and %s both got %s", name, other, l.Addr)
		}
		if l.Addr == n.Gateway || l.Addr == n.Subnet.Addr() || l.Addr == netip.MustParseAddr("10.90.0.255") || !n.Subnet.Contains(l.Addr) {
			t.Fatalf("%s got %s", name, l.Addr)
		}
		seen[l.Addr] = name
	}
	// Stopped and started again: the same address.
	before := st.Leases["c3"].Addr
	if !Release(st, "c3") || Release(st, "c3") {
		t.Fatal("release")
	}
	if st.ActiveCount() != 19 {
		t.Fatalf("active = %d", st.ActiveCount())
	}
	l, err := Allocate(st, n, Request{Container: "c3", Holder: Holder{Pid: 7, Start: 1}}, alwaysAlive)
	if err != nil || l.Addr != before {
		t.Fatalf("c3 got %v (%v), had %s", l, err, before)
	}
	// The same name picks the same address in a fresh state (hash).
	fresh := &State{}
	l2, _ := Allocate(fresh, n, Request{Container: "c3", Holder: Holder{Pid: 7}}, alwaysAlive)
	l3, _ := Allocate(&State{}, n, Request{Container: "c3", Holder: Holder{Pid: 7}}, alwaysAlive)
	if l2.Addr != l3.Addr {
		t.Fatalf("hash pick differs: %s %s", l2.Addr, l3.Addr)
	}
}

func TestAllocateRequestedAndReap(t *testing.T) {
	st := &State{}
	n := testNet()
	want := netip.MustParseAddr("10.90.0.10")
	if _, err := Allocate(st, n, Request{Container: "db", Addrs: []netip.Addr{want, netip.MustParseAddr("192.0.2.1")}, Holder: Holder{Pid: 1, Start: 1}}, alwaysAlive); err != nil {
		t.Fatal(err)
	}
	if st.Leases["db"].Addr != want {
		t.Fatalf("db got %s", st.Leases["db"].Addr)
	}
	_, err := Allocate(st, n, Request{Container: "other", Addrs: []netip.Addr{want}, Holder: Holder{Pid: 2, Start: 1}}, alwaysAlive)
	if err == nil || !strings.Contains(err.Error(), "in use by db") {
		t.Fatalf("got %v", err)
	}
	// db's holder died without a teardown: reaped, and its address free.
	dead := func(l *Lease) bool { return l.Holder.Pid != 1 }
	if _, err := Allocate(st, n, Request{Container: "other", Addrs: []netip.Addr{want}, Holder: Holder{Pid: 2, Start: 1}}, dead); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Leases["db"]; ok {
		t.Fatal("db's stopped lease was not taken over")
	}
	for _, bad := range []string{"10.90.0.0", "10.90.0.1", "10.90.0.255"} {
		if _, err := Allocate(st, n, Request{Container: "x", Addrs: []netip.Addr{netip.MustParseAddr(bad)}}, alwaysAlive); err == nil {
			t.Errorf("%s was given", bad)
		}
	}
	// A lease outside a changed subnet is dropped.
	moved := (&Network{Name: "app"}).WithSubnet(pfx("10.90.7.0/24"))
	Reap(st, moved, alwaysAlive)
	if len(st.Leases) != 0 {
		t.Fatalf("leases = %v", st.Leases)
	}
}

func TestAllocateFull(t *testing.T) {
	n := (&Network{Name: "tiny"}).WithSubnet(pfx("10.90.0.0/30")) // one usable address
	st := &State{}
	if _, err := Allocate(st, n, Request{Container: "a", Holder: Holder{Pid: 1}}, alwaysAlive); err != nil {
		t.Fatal(err)
	}
	if _, err := Allocate(st, n, Request{Container: "b", Holder: Holder{Pid: 2}}, alwaysAlive); err == nil {
		t.Fatal("a full network gave an address")
	}
	Release(st, "a")
	l, err := Allocate(st, n, Request{Container: "b", Holder: Holder{Pid: 2}}, alwaysAlive)
	if err != nil || l.Addr != netip.MustParseAddr("10.90.0.2") {
		t.Fatalf("b: %v %v", l, err)
	}
}

func TestAllocateIPv6(t *testing.T) {
	n := (&Network{Name: "v6", Subnet6: pfx("fd42::/64")}).WithSubnet(pfx("10.90.0.0/24"))
	st := &State{}
	l, err := Allocate(st, n, Request{Container: "a", Holder: Holder{Pid: 1}}, alwaysAlive)
	if err != nil || !n.Subnet6.Contains(l.Addr6) || l.Addr6 == n.Gateway6 {
		t.Fatalf("%v %v", l, err)
	}
}

func TestChooseSubnet(t *testing.T) {
	got, err := ChooseSubnet([]netip.Prefix{pfx("0.0.0.0/0"), pfx("10.90.0.0/24"), pfx("10.90.1.128/25"), pfx("192.168.1.0/24")})
	if err != nil || got != pfx("10.90.2.0/24") {
		t.Fatalf("got %s, %v", got, err)
	}
	if _, err := ChooseSubnet([]netip.Prefix{pfx("10.0.0.0/8")}); err == nil {
		t.Fatal("chose inside 10.0.0.0/8")
	}
	n := (&Network{Name: "x"}).WithSubnet(pfx("10.90.0.0/24"))
	if c := Clash(n, []netip.Prefix{pfx("0.0.0.0/0"), pfx("10.0.0.0/8")}); c != pfx("10.0.0.0/8") {
		t.Fatalf("clash = %s", c)
	}
}

func TestLastAddr(t *testing.T) {
	if got := lastAddr(pfx("10.1.2.0/23")); got != addr("10.1.3.255") {
		t.Fatal(got)
	}
}
