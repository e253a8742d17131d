package network

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// TestContribApp runs the two-container example of contrib as shipped:
// the network app (contrib/networks/app.toml), postgres.toml joined to it
// by its drop-in, and pgbouncer.toml, both socket-activated (their
// sockets moved to this package's ports). The first connection to
// pgbouncer's socket starts postgres, then pgbouncer, which reaches the
// database by its name over the network: the server sees the pooler at
// its address on app.
func TestContribApp(t *testing.T) {
	// The images are built (mmdebstrap, on the host) before the box
	// boots when this test runs first, as it does in the package's
	// order.
	tars := map[string]string{}
	for _, svc := range []string{"postgres", "pgbouncer"} {
		tars[svc] = images.BuildContrib(t, svc)
	}
	b := netBox(t)
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	for svc, tar := range tars {
		images.ImportContrib(t, b, svc, tar)
	}
	const password = "dockah-app-password"
	files := map[string]string{
		"/etc/dockah/postgres.env": "POSTGRES_PASSWORD=" + password + "\nPOSTGRES_DB=app\n",
		// TOML allows no "socket = []" and [[socket]] in one file.
		"/etc/dockah/containers/postgres.toml.d/90-test-no-socket.toml":  "socket = []\n",
		"/etc/dockah/containers/postgres.toml.d/91-test-socket.toml":     "[[socket]]\nlisten = \"127.0.0.1:18060\"\nport = 5432\n",
		"/etc/dockah/containers/pgbouncer.toml.d/90-test-no-socket.toml": "socket = []\n",
		"/etc/dockah/containers/pgbouncer.toml.d/91-test-socket.toml":    "[[socket]]\nlisten = \"127.0.0.1:18061\"\nport = 6432\n",
	}
	for inside, shipped := range map[string]string{
		"/etc/dockah/networks/app.toml":                              "contrib/networks/app.toml",
		"/etc/dockah/containers/postgres.toml":                       "contrib/units/postgres.toml",
		"/etc/dockah/containers/postgres.toml.d/50-network-app.toml": "contrib/units/postgres.toml.d/50-network-app.toml",
		"/etc/dockah/containers/pgbouncer.toml":                      "contrib/units/pgbouncer.toml",
	} {
		data, err := os.ReadFile(filepath.Join(project, shipped))
		if err != nil {
			t.Fatal(err)
		}
		files[inside] = string(data)
	}
	for path, content := range files {
		if err := b.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		b.Systemctl("stop", "pgbouncer.socket", "pgbouncer.service", "postgres.socket", "postgres.service")
	})
	if out, err := b.Run("dockah", "validate"); err != nil {
		t.Fatalf("dockah validate: %v\n%s", err, out)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if out, err := b.Systemctl("start", "pgbouncer.socket", "postgres.socket"); err != nil {
		t.Fatalf("start the sockets: %v\n%s", err, out)
	}
	tryPSQL := func(port, sql string) (string, error) {
		out, err := hostRun(b, "env", "PGPASSWORD="+password, "psql",
			fmt.Sprintf("host=127.0.0.1 port=%s user=postgres dbname=app connect_timeout=120", port),
			"--no-psqlrc", "--no-align", "--tuples-only", "-v", "ON_ERROR_STOP=1", "-c", sql)
		return strings.TrimSpace(out), err
	}
	diagnostics := func() string {
		pg, _ := b.Journal("postgres.service")
		pgb, _ := b.Journal("pgbouncer.service")
		pid, _ := b.Property("pgbouncer.service", "MainPID")
		pgpid, _ := b.Property("postgres.service", "MainPID")
		diag, _ := b.Run("sh", "-c", "nft list ruleset; ip -br link; bridge link; bridge fdb show br dk-app; sysctl net.bridge.bridge-nf-call-iptables; "+
			"echo pgbouncer:; nsenter -t "+pid+" -n sh -c 'ip -br addr; ip -br link; ip route; ip neigh; ss -tan; nstat -az | grep -i -E \"drop|retrans|InErr|OutRst|Attempt\"'; "+
			"echo postgres:; nsenter -t "+pgpid+" -n sh -c 'ip -br addr; ip -s link show eth0; ip route; ip neigh; ss -tanl; ss -tan; nstat -az | grep -v \" 0 \"; sysctl net.ipv4.conf.all.rp_filter net.ipv4.conf.eth0.rp_filter'; "+
			"cat /proc/"+pgpid+"/cgroup; "+
			"systemctl show -p IPAddressDeny -p IPAddressAllow -p IPIngressFilterPath -p RestrictNetworkInterfaces -p SocketBindDeny -p PrivateNetwork -p NetworkNamespacePath postgres.service pgbouncer.service; "+
			"cat /var/lib/dockah/networks/app.json")
		bpf, _ := exec.Command("sh", "-c", "bpftool cgroup tree "+boxCgroup2(b)+" 2>&1 || echo no bpftool here").CombinedOutput()
		return fmt.Sprintf("postgres:\n%s\npgbouncer:\n%s\n%s\nbpf:\n%s", pg, pgb, diag, bpf)
	}
	psql := func(port, sql string) string {
		t.Helper()
		out, err := tryPSQL(port, sql)
		if err != nil {
			t.Fatalf("psql on port %s: %v\n%s", port, err, diagnostics())
		}
		return out
	}

	// The first connection, to the pooler, starts both. It once failed
	// on the first start in a fresh box: the box's units started in
	// cgroups an earlier box had left, with their BPF programs (an
	// IPAddressDeny= of a namesake) attached; tests/box now gives each
	// box a cgroup of its own and removes it (tests/box/cgroup.go).
	query := "SELECT host(inet_client_addr()) || ' ' || host(inet_server_addr())"
	out := psql("18061", query)
	app := leases(t, b, "app")
	want := app["pgbouncer"].Addr + " " + app["postgres"].Addr
	if app["pgbouncer"].Addr == "" || app["postgres"].Addr == "" || out != want {
		t.Errorf("through pgbouncer, the server sees %q (client, server), want %q: pgbouncer at its address on app, postgres at its own", out, want)
	}
	// The database's volume outlives the test (-count=N runs it again).
	psql("18061", "DROP TABLE IF EXISTS notes; CREATE TABLE notes (body text); INSERT INTO notes VALUES ('through the pooler')")
	// The database's own socket, from the host, sees the same data.
	if out := psql("18060", "SELECT body FROM notes"); out != "through the pooler" {
		t.Errorf("through postgres.socket: %q", out)
	}
	for _, u := range []string{"postgres.service", "pgbouncer.service"} {
		if uid, _ := b.Property(u, "MainPID"); uid == "0" {
			t.Errorf("%s does not run", u)
		}
	}
	if out, err := b.Systemctl("stop", "pgbouncer.service", "postgres.service"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	waitNothingLeft(t, b, "app", "dk-app")
}

// boxCgroup2 is the box's cgroup in the host's cgroup2 hierarchy, at
// /sys/fs/cgroup or, in the hybrid layout, /sys/fs/cgroup/unified: the
// parent of its systemd's init.scope.
func boxCgroup2(b *box.Box) string {
	cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", b.PID1()))
	for _, line := range strings.Split(string(cg), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			rest = strings.TrimSuffix(rest, "/init.scope")
			if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.procs"); err == nil {
				return "/sys/fs/cgroup/unified" + rest
			}
			return "/sys/fs/cgroup" + rest
		}
	}
	return "/sys/fs/cgroup"
}
