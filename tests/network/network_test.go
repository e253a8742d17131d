package network

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
)

// client is a definition that runs a shell command once, on network.
func client(network, script string, extra string) string {
	return fmt.Sprintf(`[container]
image = "net:test"
network = %q
entrypoint = ["/bin/sh", "-c", %q]
%s`, network, script, extra)
}

const server = `[container]
image = "net:test"
network = "dockah"
entrypoint = ["/hello"]
environment = { HELLO_IGNORE_LISTEN_FDS = "1", HELLO_LISTEN = ":8080" }
aliases = ["database"]
`

// run starts a one-shot client and returns its journal once it printed
// want (or fails).
func run(t *testing.T, b *box.Box, name, want string) string {
	t.Helper()
	if _, err := b.Systemctl("start", name); err != nil {
		j, _ := b.Journal(name)
		t.Fatalf("start %s: %v\n%s", name, err, j)
	}
	j, err := b.WaitJournal(name, want, 20*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return j
}

// TestAppReachesDBByName: db and an application ordered after it on the
// default network; the application reaches db by its name and alias, and
// the world outside through the host's resolver and NAT.
func TestAppReachesDBByName(t *testing.T) {
	b := netBox(t)
	define(t, b, map[string]string{
		"db": server,
		"app": client("dockah", "wget -q -O- http://db:8080/ | head -1; wget -q -O- http://database.dns.dockah:8080/ | head -1; "+
			"wget -q -O- http://"+outsideName+":8081/; echo done", "[service]\nrequires = [\"db\"]\n"),
	})
	t.Cleanup(func() { b.Systemctl("stop", "app", "db") })
	j := run(t, b, "app", "done")
	if strings.Count(j, "hello from dockah") != 2 {
		dns, _ := b.Run("sh", "-c", "systemctl status --no-pager dockah-dns.socket dockah-dns.service; journalctl --no-pager -u dockah-dns.service | tail; ip addr; ss -lunp")
		t.Errorf("app did not reach db by name and alias:\n%s\n%s", j, dns)
	}
	// NAT: the outside sees the box's own address, not the container's.
	if !strings.Contains(j, "outside sees "+boxAddr+":") {
		t.Errorf("app did not reach the outside through NAT:\n%s", j)
	}
}

// TestInternalHasNoRouteOut: a container on an internal network reaches
// neither the outside nor a container of another network, and still has
// names.
func TestInternalHasNoRouteOut(t *testing.T) {
	b := netBox(t)
	define(t, b, map[string]string{
		"inside": client("closed", "timeout 3 wget -q -O- http://"+outsideAddr+":8081/ || echo no-route; echo done", ""),
	})
	j := run(t, b, "inside", "done")
	if !strings.Contains(j, "no-route") || strings.Contains(j, "outside sees") {
		t.Errorf("internal container reached out:\n%s", j)
	}
}

// TestNetworksIsolated: a container of "other" cannot reach db on
// "dockah" by its address.
func TestNetworksIsolated(t *testing.T) {
	b := netBox(t)
	define(t, b, map[string]string{"db": server})
	t.Cleanup(func() { b.Systemctl("stop", "db") })
	if _, err := b.Systemctl("start", "db"); err != nil {
		t.Fatal(err)
	}
	addr := leaseAddr(t, b, "dockah", "db")
	define(t, b, map[string]string{
		"stranger": client("other", "timeout 3 wget -q -O- http://"+addr+":8080/ || echo isolated; nslookup db; echo done", ""),
	})
	j := run(t, b, "stranger", "done")
	// The resolver does not know db for a container of another network
	// (it asks the host's resolvers, which do not know it either).
	if !strings.Contains(j, "isolated") || strings.Contains(j, "hello from dockah") || strings.Contains(j, addr) {
		t.Errorf("other network reached db:\n%s", j)
	}
}

// TestNoneHasLoopbackOnly: network = "none" is as before.
func TestNoneHasLoopbackOnly(t *testing.T) {
	b := netBox(t)
	define(t, b, map[string]string{"lonely": client("none", "ip -o link; echo done", "")})
	j := run(t, b, "lonely", "done")
	if !strings.Contains(j, "lo:") || strings.Contains(j, "eth0") {
		t.Errorf("network none:\n%s", j)
	}
}

// leaseAddr returns a container's address on a network from dockah
// network inspect.
func leaseAddr(t *testing.T, b *box.Box, network, container string) string {
	t.Helper()
	var info []struct {
		Leases map[string]struct {
			Addr   string `json:"addr"`
			Holder struct{ Pid int }
		} `json:"leases"`
	}
	if err := json.Unmarshal([]byte(b.Dockah(t, "network", "inspect", network)), &info); err != nil || len(info) != 1 {
		t.Fatalf("inspect %s: %v", network, err)
	}
	l, ok := info[0].Leases[container]
	if !ok {
		t.Fatalf("%s has no lease on %s", container, network)
	}
	return l.Addr
}

// TestRunJoinsANetwork: dockah run --network reaches a defined container
// by name, and its lease and veth go when it ends, as a defined one's.
func TestRunJoinsANetwork(t *testing.T) {
	b := netBox(t)
	define(t, b, map[string]string{"rundb": server})
	t.Cleanup(func() { b.Systemctl("stop", "rundb") })
	if _, err := b.Systemctl("start", "rundb"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitUnitState("rundb.service", 20*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	var out string
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err = b.Run("dockah", "run", "--rm", "--name", "runclient", "--network", "bridge", "net:test", "sh", "-c", "wget -q -O- http://rundb:8080/ | head -1")
		if err == nil && strings.Contains(out, "hello from dockah") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockah run --network bridge did not reach rundb by name: %v\n%s", err, out)
		}
	}
	// --rm: the address kept for the name goes too.
	if strings.Contains(b.Dockah(t, "network", "inspect", "dockah"), `"runclient"`) {
		j, _ := b.Journal("runclient.service")
		t.Errorf("the run container's lease outlived it:\n%s\njournal:\n%s", b.Dockah(t, "network", "inspect", "dockah"), j)
	}
}

// TestSocketPortGoesToNetworkAddress: a [[socket]] with port = relays
// each connection to the container's address on its network, so that an
// application bound to that address alone (not to any, not to loopback)
// is reached through the socket systemd listens on; one bound to
// 127.0.0.1 alone (the images made for loopback-only containers) is
// still reached, at 127.0.0.1.
func TestSocketPortGoesToNetworkAddress(t *testing.T) {
	b := netBox(t)
	for _, tc := range []struct{ name, ip, listen, socket string }{
		{"bound", "10.91.0.50", "10.91.0.50:8080", "127.0.0.1:18050"},
		{"loopbound", "10.91.0.51", "127.0.0.1:8080", "127.0.0.1:18051"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			define(t, b, map[string]string{tc.name: fmt.Sprintf(`[container]
image = "net:test"
network = "other"
ip = %q
entrypoint = ["/hello"]
environment = { HELLO_LISTEN = %q, HELLO_GREETING = "greetings from %s" }

[[socket]]
listen = %q
port = 8080
`, tc.ip, tc.listen, tc.name, tc.socket)})
			t.Cleanup(func() { b.Systemctl("stop", tc.name+".socket", tc.name+".service") })
			if out, err := b.Systemctl("start", tc.name+".socket"); err != nil {
				t.Fatalf("start %s.socket: %v\n%s", tc.name, err, out)
			}
			out, err := b.Run("curl", "-sS", "--max-time", "20", "http://"+tc.socket+"/")
			j, _ := b.Journal(tc.name + ".service")
			if err != nil || !strings.Contains(out, "greetings from "+tc.name) {
				t.Fatalf("through the socket: %v\n%s\njournal:\n%s", err, out, j)
			}
			if !strings.Contains(j, "serving on "+tc.listen) {
				t.Errorf("hello did not bind %s alone:\n%s", tc.listen, j)
			}
		})
	}
}

// TestIPv6: on a network with an IPv6 subnet, a container gets an IPv6
// address besides its IPv4 one, reaches another container at its IPv6
// address, which the resolver gives for its name, and the outside
// through NAT.
func TestIPv6(t *testing.T) {
	b := netBox(t)
	defineNetwork(t, b, "six", "[network]\nsubnet = \"10.94.0.0/24\"\nsubnet6 = \"fd42:94::/64\"\n")
	define(t, b, map[string]string{"db6": strings.Replace(server, `network = "dockah"`, `network = "six"`, 1)})
	t.Cleanup(func() { b.Systemctl("stop", "db6") })
	if out, err := b.Systemctl("start", "db6"); err != nil {
		t.Fatalf("start db6: %v\n%s", err, out)
	}
	addr6 := leases(t, b, "six")["db6"].Addr6
	if !strings.HasPrefix(addr6, "fd42:94::") {
		t.Fatalf("db6 has no address on fd42:94::/64: %q", addr6)
	}
	define(t, b, map[string]string{
		"client6": client("six", "ip -o -6 addr show eth0 scope global; ip -6 route; "+
			"wget -q -O- http://["+addr6+"]:8080/ | head -1; nslookup -type=AAAA db6; "+
			"wget -q -O- http://["+outsideAddr6+"]:8081/ || echo no-route6; echo done", ""),
	})
	j := run(t, b, "client6", "done")
	if !regexp.MustCompile(`inet6 fd42:94::[0-9a-f:]+/64`).MatchString(j) {
		t.Errorf("client6 has no IPv6 address on the network:\n%s", j)
	}
	if !strings.Contains(j, "default via fd42:94::1") {
		t.Errorf("client6 has no IPv6 default route through the gateway:\n%s", j)
	}
	if !strings.Contains(j, "hello from dockah") {
		t.Errorf("client6 did not reach db6 at [%s]:\n%s", addr6, j)
	}
	if !strings.Contains(j, "Address: "+addr6) {
		t.Errorf("the resolver did not give db6's IPv6 address %s:\n%s", addr6, j)
	}
	// Outbound IPv6 is masqueraded as IPv4 is: the outside sees the
	// box's address, not the container's.
	if !strings.Contains(j, "outside sees ["+boxAddr6+"]:") {
		t.Errorf("client6 did not reach the outside over IPv6 from the box's address %s:\n%s", boxAddr6, j)
	}
	if out, err := b.Systemctl("stop", "db6", "client6"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	waitNothingLeft(t, b, "six", "dk-six")
}

// TestRunLeavesNothing: a container of dockah run --network leaves its
// network as a defined one does when it ends: with --rm nothing stays,
// not even its lease; without, its lease stays (inactive, for the name)
// until dockah rm.
func TestRunLeavesNothing(t *testing.T) {
	b := netBox(t)
	defineNetwork(t, b, "runnet", "[network]\nsubnet = \"10.95.0.0/24\"\n")
	out, err := b.Run("dockah", "run", "--rm", "--name", "runrm", "--network", "runnet", "net:test", "ip", "-o", "-4", "addr", "show", "eth0")
	if err != nil || !strings.Contains(out, "inet 10.95.0.") {
		t.Fatalf("dockah run --rm --network runnet: %v\n%s", err, out)
	}
	waitNothingLeft(t, b, "runnet", "dk-runnet")
	if !box.Eventually(10*time.Second, func() bool { _, ok := leases(t, b, "runnet")["runrm"]; return !ok }) {
		t.Errorf("the lease of runrm outlived it: %+v", leases(t, b, "runnet"))
	}

	out, err = b.Run("dockah", "run", "--name", "runkeep", "--network", "runnet", "net:test", "ip", "-o", "-4", "addr", "show", "eth0")
	t.Cleanup(func() { b.Run("dockah", "rm", "-f", "runkeep") })
	if err != nil || !strings.Contains(out, "inet 10.95.0.") {
		t.Fatalf("dockah run --network runnet: %v\n%s", err, out)
	}
	waitNothingLeft(t, b, "runnet", "dk-runnet")
	if l, ok := leases(t, b, "runnet")["runkeep"]; !ok || !strings.Contains(out, "inet "+l.Addr+"/") {
		t.Errorf("runkeep's lease is not kept for its name: %+v\n%s", l, out)
	}
	if out, err := b.Run("dockah", "rm", "runkeep"); err != nil {
		t.Fatalf("dockah rm runkeep: %v\n%s", err, out)
	}
	if _, ok := leases(t, b, "runnet")["runkeep"]; ok {
		t.Errorf("dockah rm left runkeep's lease: %+v", leases(t, b, "runnet"))
	}
}
