package network

import (
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, src string
		want      *Network
	}{
		{"front", "", &Network{Name: "front", File: "/f", DNS: true, Bridge: "dk-front"}},
		{"front", `[network]
subnet = "10.89.1.0/24"
internal = true
dns = false
mtu = 1400
`, &Network{Name: "front", File: "/f", Subnet: pfx("10.89.1.0/24"), Gateway: addr("10.89.1.1"), Internal: true, Bridge: "dk-front", MTU: 1400}},
		{"a-very-long-network-name", `[network]
subnet = "10.89.2.0/24"
gateway = "10.89.2.254"
subnet6 = "fd42:89:2::/64"
bridge = "br-long"
`, &Network{Name: "a-very-long-network-name", File: "/f", Subnet: pfx("10.89.2.0/24"), Gateway: addr("10.89.2.254"),
			Subnet6: pfx("fd42:89:2::/64"), Gateway6: addr("fd42:89:2::1"), DNS: true, Bridge: "br-long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.name, File{Path: "/f", Data: []byte(tt.src)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"[network]\nsubnet = \"10.89.1.1/24\"\n", `/f:2: network.subnet: "10.89.1.1/24" has host bits set (the subnet is 10.89.1.0/24)`},
		{"[network]\nsubnet = \"fd00::/64\"\n", `/f:2: network.subnet: "fd00::/64" is not an IPv4 subnet`},
		{"[network]\nsubnet = \"10.0.0.0/31\"\n", "has a prefix length out of range"},
		{"[network]\nsubnet = \"169.254.1.0/24\"\n", "link-local"},
		{"[network]\nsubnet6 = \"10.0.0.0/24\"\n", "is not an IPv6 subnet"},
		{"[network]\n\nsubnet = \"10.89.1.0/24\"\ngateway = \"10.89.2.1\"\n", "/f:4: network.gateway: 10.89.2.1 is not inside 10.89.1.0/24 (accepted: an IPv4 address inside subnet)"},
		{"[network]\nsubnet = \"10.89.1.0/24\"\ngateway = \"10.89.1.255\"\n", "broadcast"},
		{"[network]\ngateway = \"10.89.1.1\"\n", "/f:2: network.gateway: is set without subnet"},
		{"[network]\ngateway = \"fd00::1\"\n", "is not an IPv4 address"},
		{"[network]\ninternal = \"yes\"\n", `/f:2: network.internal: expected a boolean, got the string "yes" (accepted: true or false)`},
		{"[network]\nbridge = \"this-is-far-too-long\"\n", "is not an interface name"},
		{"[network]\nmtu = 10\n", "is not an MTU"},
		{"[network]\nsubnett = \"x\"\n", "/f:2: network.subnett: unknown key (accepted: bridge, dns,"},
		{"[container]\nimage = \"x\"\n", "/f:1: container: unknown table (accepted: [network])"},
		{"[network\n", "invalid TOML"},
	}
	for _, tt := range tests {
		_, err := Parse("n", File{Path: "/f", Data: []byte(tt.src)})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", tt.src, err, tt.want)
		}
	}
	if _, err := Parse("-bad", File{Path: "/f"}); err == nil {
		t.Error("a bad name was accepted")
	}
	// All problems of a file come together.
	_, err := Parse("n", File{Path: "/f", Data: []byte("[network]\nmtu = 1\ndns = 2\n")})
	if err == nil || !strings.Contains(err.Error(), "network.mtu") || !strings.Contains(err.Error(), "network.dns") {
		t.Errorf("got %v, want both problems", err)
	}
}

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/dockah/networks/front.toml":                {Data: []byte("[network]\nsubnet = \"10.89.1.0/24\"\n")},
		"usr/lib/dockah/networks/front.toml":            {Data: []byte("[network]\nsubnet = \"10.89.9.0/24\"\n")},
		"usr/lib/dockah/networks/front.toml.d/10.toml":  {Data: []byte("[network]\ninternal = true\n")},
		"run/dockah/networks/front.toml.d/20-mtu.toml":  {Data: []byte("[network]\nmtu = 1400\n")},
		"etc/dockah/networks/front.toml.d/20-mtu.toml":  {Data: []byte("[network]\nmtu = 1300\n")},
		"usr/lib/dockah/networks/back.toml":             {Data: []byte("[network]\nsubnet = \"10.89.2.0/24\"\n")},
		"etc/dockah/networks/back.toml":                 {Data: []byte(" \n")}, // masks
		"etc/dockah/networks/dockah.toml.d/10-dns.toml": {Data: []byte("[network]\ndns = false\n")},
		"etc/dockah/networks/.hidden.toml":              {Data: []byte("x")},
	}
	front, err := Load(fsys, "front")
	if err != nil {
		t.Fatal(err)
	}
	if front.Subnet != pfx("10.89.1.0/24") || !front.Internal || front.MTU != 1300 || front.File != "/etc/dockah/networks/front.toml" {
		t.Errorf("front = %+v", front)
	}
	if _, err := Load(fsys, "back"); err == nil || !strings.Contains(err.Error(), "masked") {
		t.Errorf("back: %v, want masked", err)
	}
	if _, err := Load(fsys, "nope"); err == nil || !strings.Contains(err.Error(), "no such network") {
		t.Errorf("nope: %v", err)
	}
	def, err := Load(fsys, Default)
	if err != nil || def.Subnet.IsValid() || !def.DNS || def.Bridge != "dk-dockah" {
		t.Errorf("default = %+v, %v", def, err)
	}
	all, err := LoadAll(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range all {
		names = append(names, n.Name)
	}
	if diff := cmp.Diff([]string{"dockah", "front"}, names); diff != "" {
		t.Error(diff)
	}
}

func TestBridgeName(t *testing.T) {
	for name, want := range map[string]string{"dockah": "dk-dockah", "abcdefghijkl": "dk-abcdefghijkl"} {
		if got := BridgeName(name); got != want {
			t.Errorf("BridgeName(%q) = %q, want %q", name, got, want)
		}
	}
	long := BridgeName("abcdefghijklm")
	if len(long) != 15 || !strings.HasPrefix(long, "dk-") || long == BridgeName("abcdefghijklx") {
		t.Errorf("BridgeName of a long name = %q", long)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("[network]\nsubnet = \"10.89.1.0/24\"\ngateway = \"10.89.1.1\"\nsubnet6 = \"fd00::/64\"\n")
	f.Add("[network]\ninternal = true\ndns = false\nbridge = \"x\"\nmtu = 1500\n")
	f.Fuzz(func(t *testing.T, src string) {
		n, err := Parse("fuzz", File{Path: "/f", Data: []byte(src)})
		if err != nil {
			return
		}
		if n.Subnet.IsValid() && (!n.Subnet.Contains(n.Gateway) || n.Gateway == n.Subnet.Addr()) {
			t.Fatalf("gateway %s outside %s", n.Gateway, n.Subnet)
		}
		if !ifNameOK(n.Bridge) {
			t.Fatalf("bridge %q", n.Bridge)
		}
	})
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }
