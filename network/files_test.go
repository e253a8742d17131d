package network

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFiles(t *testing.T) {
	n := testNet()
	atts := []Attachment{{Network: n, Lease: &Lease{Addr: addr("10.90.0.7"), Addr6: addr("fd42::7")}, Interface: "eth0"}}
	wantHosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.90.0.7\tweb web-1\nfd42::7\tweb web-1\n"
	if diff := cmp.Diff(wantHosts, HostsFile(atts, "web", "web-1")); diff != "" {
		t.Error(diff)
	}
	host := "# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch example.org\noptions edns0\n"
	want := "# written by dockah for this container\nsearch dns.dockah example.org\nnameserver 169.254.0.53\noptions edns0\n"
	if diff := cmp.Diff(want, ResolvConf(atts, host)); diff != "" {
		t.Error(diff)
	}
	noDNS := *n
	noDNS.DNS = false
	atts[0].Network = &noDNS
	want = "# written by dockah for this container\nsearch example.org\nnameserver 192.0.2.1\noptions edns0\n"
	if diff := cmp.Diff(want, ResolvConf(atts, host)); diff != "" {
		t.Error(diff)
	}
}
