package network

import (
	"net/netip"
	"testing"
)

func TestNames(t *testing.T) {
	h := Holder{Pid: 1}
	states := map[string]*State{
		"app":  {Leases: map[string]*Lease{"db": {Addr: addr("10.90.0.2"), Aliases: []string{"Database"}, Holder: h}, "web": {Addr: addr("10.90.0.3"), Hostname: "www", Holder: h}, "old": {Addr: addr("10.90.0.4")}}},
		"back": {Leases: map[string]*Lease{"cache": {Addr: addr("10.90.1.2"), Addr6: addr("fd42::2"), Holder: h}}},
	}
	n := NamesOf(states)
	for _, tt := range []struct {
		src, name string
		want      []netip.Addr
	}{
		{"10.90.0.3", "db.", []netip.Addr{addr("10.90.0.2")}},
		{"10.90.0.3", "DATABASE.dns.dockah.", []netip.Addr{addr("10.90.0.2")}},
		{"10.90.0.2", "www", []netip.Addr{addr("10.90.0.3")}},
		{"10.90.0.3", "old.", nil},   // stopped
		{"10.90.0.3", "cache.", nil}, // another network
		{"10.90.1.2", "db.", nil},    // and the other way
		{"10.90.1.2", "cache.", []netip.Addr{addr("10.90.1.2"), addr("fd42::2")}},
		{"192.0.2.9", "db.", nil},         // not a container
		{"10.90.0.3", "db.example.", nil}, // not ours
	} {
		got, found := n.Lookup(addr(tt.src), tt.name)
		if found != (tt.want != nil) || len(got) != len(tt.want) {
			t.Errorf("Lookup(%s, %s) = %v %v, want %v", tt.src, tt.name, got, found, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("Lookup(%s, %s) = %v, want %v", tt.src, tt.name, got, tt.want)
			}
		}
	}
	if !n.Known(addr("10.90.0.2")) || n.Known(addr("10.90.0.4")) {
		t.Error("Known")
	}
}
