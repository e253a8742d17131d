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

// The networks of the lifecycle tests: one each, so that "nothing left"
// is checked for a network no other test uses.
const (
	crowdNet  = "[network]\nsubnet = \"10.92.0.0/24\"\n"
	killedNet = "[network]\nsubnet = \"10.93.0.0/24\"\n"
)

// longRunning prints its eth0 address, then serves until it is stopped.
func longRunning(network string) string {
	return fmt.Sprintf(`[container]
image = "net:test"
network = %q
entrypoint = ["/bin/sh", "-c", "ip -o -4 addr show eth0; exec /hello"]
environment = { HELLO_IGNORE_LISTEN_FDS = "1", HELLO_LISTEN = ":8080" }
`, network)
}

// defineNetwork writes a network definition.
func defineNetwork(t *testing.T, b *box.Box, name, def string) {
	t.Helper()
	if err := b.WriteFile("/etc/dockah/networks/"+name+".toml", []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lease is a container's lease as dockah network inspect shows it.
type lease struct {
	Addr   string `json:"addr"`
	Addr6  string `json:"addr6"`
	Holder struct {
		Pid int `json:"pid"`
	} `json:"holder"`
}

// leases returns the leases of a network, by container.
func leases(t *testing.T, b *box.Box, network string) map[string]lease {
	t.Helper()
	var info []struct {
		Leases map[string]lease `json:"leases"`
	}
	out := b.Dockah(t, "network", "inspect", network)
	if err := json.Unmarshal([]byte(out), &info); err != nil || len(info) != 1 {
		t.Fatalf("inspect %s: %v\n%s", network, err, out)
	}
	return info[0].Leases
}

// leftovers describes what of a network's kernel objects and leases is
// still there although none of its containers runs: its bridge, veths
// (dkv…, of any network), its nftables table and its active leases. ""
// means nothing.
func leftovers(t *testing.T, b *box.Box, network, bridge string) string {
	t.Helper()
	var found []string
	links, err := b.Run("ip", "-o", "link")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(links, "\n") {
		if strings.Contains(l, " "+bridge+":") || strings.Contains(l, " dkv") {
			found = append(found, "link: "+strings.TrimSpace(l))
		}
	}
	tables, err := hostRun(b, "nft", "list", "tables")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tables, "inet dockah-"+network+"\n") {
		found = append(found, "nftables table inet dockah-"+network)
	}
	for name, l := range leases(t, b, network) {
		if l.Holder.Pid != 0 {
			found = append(found, fmt.Sprintf("active lease of %s (%s, holder %d)", name, l.Addr, l.Holder.Pid))
		}
	}
	return strings.Join(found, "\n")
}

// waitNothingLeft waits for leftovers to be "" (the kernel removes a
// veth with its namespace a moment after the last process is gone).
func waitNothingLeft(t *testing.T, b *box.Box, network, bridge string) {
	t.Helper()
	var left string
	if !box.Eventually(10*time.Second, func() bool {
		left = leftovers(t, b, network, bridge)
		return left == ""
	}) {
		t.Errorf("left behind on %s:\n%s", network, left)
	}
}

var inetRE = regexp.MustCompile(`inet (10\.92\.0\.\d+)/24`)

// TestTwentyAtOnce: 20 containers started by one systemctl start (which
// starts them in parallel) get 20 distinct addresses, each the one its
// lease says, with a veth each in the bridge; their stop leaves nothing.
func TestTwentyAtOnce(t *testing.T) {
	b := netBox(t)
	defineNetwork(t, b, "crowd", crowdNet)
	defs := map[string]string{}
	var units []string
	for i := range 20 {
		name := fmt.Sprintf("crowd%02d", i)
		defs[name] = longRunning("crowd")
		units = append(units, name+".service")
	}
	define(t, b, defs)
	t.Cleanup(func() { b.Systemctl(append([]string{"stop"}, units...)...) })
	if out, err := b.Systemctl(append([]string{"start"}, units...)...); err != nil {
		t.Fatalf("start 20: %v\n%s", err, out)
	}
	held := leases(t, b, "crowd")
	seen := map[string]string{}
	for name := range defs {
		var j string
		var m []string
		box.Eventually(10*time.Second, func() bool {
			j, _ = b.Journal(name + ".service")
			m = inetRE.FindStringSubmatch(j)
			return m != nil
		})
		if m == nil {
			t.Errorf("%s printed no address on 10.92.0.0/24:\n%s", name, j)
			continue
		}
		if other, dup := seen[m[1]]; dup {
			t.Errorf("%s and %s both have %s", name, other, m[1])
		}
		seen[m[1]] = name
		if l := held[name]; l.Addr != m[1] || l.Holder.Pid == 0 {
			t.Errorf("%s has %s, its lease says %+v", name, m[1], l)
		}
	}
	veths, err := b.Run("ip", "-o", "link", "show", "master", "dk-crowd")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(veths, " dkv"); n != 20 {
		t.Errorf("%d veths in dk-crowd, want 20:\n%s", n, veths)
	}
	if out, err := b.Systemctl(append([]string{"stop"}, units...)...); err != nil {
		t.Fatalf("stop 20: %v\n%s", err, out)
	}
	waitNothingLeft(t, b, "crowd", "dk-crowd")
	// The leases stay, inactive, for the containers' next starts.
	if n := len(leases(t, b, "crowd")); n != 20 {
		t.Errorf("%d leases kept after the stop, want 20", n)
	}
}

// TestKillNineLeavesNothing: kill -9 of every process of the units (the
// shims and the containers at once) leaves nothing once systemd has run
// their ExecStopPost=; and when that teardown never ran either (a crash
// of systemd or of the machine's power), the next start on the network
// releases the dead container's lease, and its stop leaves nothing.
func TestKillNineLeavesNothing(t *testing.T) {
	b := netBox(t)
	defineNetwork(t, b, "killed", killedNet)
	define(t, b, map[string]string{
		"victim1":  longRunning("killed"),
		"victim2":  longRunning("killed"),
		"orphan":   longRunning("killed"),
		"survivor": longRunning("killed"),
	})
	units := []string{"victim1.service", "victim2.service", "orphan.service", "survivor.service"}
	t.Cleanup(func() {
		b.Systemctl(append([]string{"stop"}, units...)...)
		b.Run("rm", "-rf", "/etc/systemd/system/orphan.service.d")
		b.Systemctl("daemon-reload")
		b.Systemctl(append([]string{"reset-failed"}, units...)...)
	})

	t.Run("ExecStopPost", func(t *testing.T) {
		if out, err := b.Systemctl("start", "victim1", "victim2"); err != nil {
			t.Fatalf("start: %v\n%s", err, out)
		}
		if n := activeLeases(t, b, "killed"); n != 2 {
			t.Fatalf("%d active leases, want 2", n)
		}
		// kill -9 of the containers' processes, by pid: systemd 257's
		// "systemctl kill --signal=KILL" kills the unit's cgroup with
		// cgroup.kill, which also takes the ExecStopPost= it starts
		// right after ("Control process exited, code=killed"), so the
		// teardown would never run there; NoTeardown below covers that.
		for _, u := range []string{"victim1.service", "victim2.service"} {
			pid, err := b.Property(u, "MainPID")
			if err != nil || pid == "0" {
				t.Fatalf("the main pid of %s: %q %v", u, pid, err)
			}
			if out, err := b.Run("kill", "-KILL", pid); err != nil {
				t.Fatalf("kill -9 %s: %v\n%s", pid, err, out)
			}
		}
		for _, u := range []string{"victim1.service", "victim2.service"} {
			if err := b.WaitUnitState(u, 20*time.Second, "inactive", "failed"); err != nil {
				t.Fatal(err)
			}
		}
		waitNothingLeft(t, b, "killed", "dk-killed")
		if t.Failed() {
			j, _ := b.Journal("victim1.service")
			t.Logf("journal of victim1:\n%s", j)
		}
	})

	t.Run("NoTeardown", func(t *testing.T) {
		// What a crash of systemd leaves: the unit's teardown never
		// runs.
		if err := b.WriteFile("/etc/systemd/system/orphan.service.d/no-teardown.conf", []byte("[Service]\nExecStopPost=\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Systemctl("daemon-reload"); err != nil {
			t.Fatal(err)
		}
		if out, err := b.Systemctl("start", "orphan"); err != nil {
			t.Fatalf("start: %v\n%s", err, out)
		}
		if out, err := b.Systemctl("kill", "--signal=KILL", "orphan"); err != nil {
			t.Fatalf("kill -9: %v\n%s", err, out)
		}
		if err := b.WaitUnitState("orphan.service", 20*time.Second, "inactive", "failed"); err != nil {
			t.Fatal(err)
		}
		// The lease is still marked held by the dead shim, the bridge
		// and the table are there.
		if l := leases(t, b, "killed")["orphan"]; l.Holder.Pid == 0 {
			t.Fatalf("without its teardown, orphan's lease was released anyway (the test proves nothing): %+v", l)
		}
		if out, err := b.Systemctl("start", "survivor"); err != nil {
			t.Fatalf("start: %v\n%s", err, out)
		}
		if l := leases(t, b, "killed")["orphan"]; l.Holder.Pid != 0 {
			t.Errorf("the next start on the network kept the dead container's lease: %+v", l)
		}
		if n := activeLeases(t, b, "killed"); n != 1 {
			t.Errorf("%d active leases with survivor alone running, want 1", n)
		}
		if out, err := b.Systemctl("stop", "survivor"); err != nil {
			t.Fatalf("stop: %v\n%s", err, out)
		}
		waitNothingLeft(t, b, "killed", "dk-killed")
	})
}

func activeLeases(t *testing.T, b *box.Box, network string) int {
	n := 0
	for _, l := range leases(t, b, network) {
		if l.Holder.Pid != 0 {
			n++
		}
	}
	return n
}

// TestFirewallRestoredAfterFlush: a reload of the host's ruleset (nft
// flush ruleset) drops the network's table, and with it masquerading; the
// next start of a container on the network makes it again, and the
// container reaches the outside through NAT.
func TestFirewallRestoredAfterFlush(t *testing.T) {
	b := netBox(t)
	define(t, b, map[string]string{
		"resident": longRunning("dockah"),
		"newcomer": client("dockah", "timeout 3 wget -q -O- http://"+outsideAddr+":8081/ || echo no-way-out; echo done", ""),
	})
	t.Cleanup(func() { b.Systemctl("stop", "resident", "newcomer") })
	if out, err := b.Systemctl("start", "resident"); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	if tables, _ := hostRun(b, "nft", "list", "tables"); !strings.Contains(tables, "inet dockah-dockah") {
		t.Fatalf("no table for the network dockah:\n%s", tables)
	}
	if out, err := hostRun(b, "nft", "flush", "ruleset"); err != nil {
		t.Fatalf("nft flush ruleset: %v\n%s", err, out)
	}
	if tables, _ := hostRun(b, "nft", "list", "tables"); strings.Contains(tables, "dockah") {
		t.Fatalf("the flush left a table: %s", tables)
	}
	j := run(t, b, "newcomer", "done")
	if !strings.Contains(j, "outside sees "+boxAddr+":") {
		rules, _ := hostRun(b, "nft", "list", "ruleset")
		t.Errorf("after the flush, a new container did not reach the outside through NAT:\n%s\nruleset:\n%s", j, rules)
	}
	rules, _ := hostRun(b, "nft", "list", "table", "inet", "dockah-dockah")
	if !strings.Contains(rules, "masquerade") || !strings.Contains(rules, "ct state established,related accept") {
		t.Errorf("the table made again is not whole:\n%s", rules)
	}
}

// TestOthersStopsLeaveANetworkAlone: the stop of a container with
// network = "none" (whose teardown runs in a network namespace of its
// own, where no veth is seen) and of another container of the network
// leave a running container's lease, bridge and rules alone: a third
// container still reaches it by name.
func TestOthersStopsLeaveANetworkAlone(t *testing.T) {
	b := netBox(t)
	defineNetwork(t, b, "keep", "[network]\nsubnet = \"10.98.0.0/24\"\n")
	define(t, b, map[string]string{
		"keeper":   longRunning("keep"),
		"loner":    client("none", "echo done", ""),
		"visitor1": client("keep", "echo done", ""),
		"visitor2": client("keep", "wget -q -O- http://keeper:8080/ | head -1; echo done", ""),
	})
	t.Cleanup(func() { b.Systemctl("stop", "keeper") })
	if out, err := b.Systemctl("start", "keeper"); err != nil {
		t.Fatalf("start keeper: %v\n%s", err, out)
	}
	for _, u := range []string{"loner", "visitor1"} {
		run(t, b, u, "done")
		if err := b.WaitUnitState(u+".service", 20*time.Second, "inactive"); err != nil {
			t.Fatal(err)
		}
	}
	if l := leases(t, b, "keep")["keeper"]; l.Holder.Pid == 0 {
		t.Errorf("keeper runs, but its lease was released by another container's stop: %+v", l)
	}
	if j := run(t, b, "visitor2", "done"); !strings.Contains(j, "hello from dockah") {
		links, _ := b.Run("ip", "-o", "link", "show", "master", "dk-keep")
		t.Errorf("after others' stops, keeper is not reached:\n%s\nin dk-keep:\n%s", j, links)
	}
}
