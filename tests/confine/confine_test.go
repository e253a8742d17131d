package confine

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/activation/mountinfo"
	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// Ports 18200-18299 belong to this package.
const (
	fwdAddr        = "127.0.0.1:18201"
	fwdSystemdAddr = "127.0.0.1:18202"
	passAddr       = "127.0.0.1:18203"
	passSystemd    = "127.0.0.1:18204"
)

// Host paths of the box the containers bind.
const (
	dataDir = "/srv/confine-data" // a writable bind volume's source
	roDir   = "/srv/confine-ro"   // a read-only one's
)

// definition is a container of the hello server with two bind volumes;
// forwarded, the server binds its own port and the shim stays as the
// forwarder's parent.
func definition(listen string, forwarded bool, sandbox string) string {
	d := `[container]
image = "confine:test"
entrypoint = ["/hello"]
`
	if forwarded {
		d += `environment = { HELLO_IGNORE_LISTEN_FDS = "1", HELLO_LISTEN = "127.0.0.1:8080" }
`
	}
	d += `
[[socket]]
listen = "` + listen + `"
`
	if forwarded {
		d += "port = 8080\n"
	}
	d += `
[[volume]]
source = "` + dataDir + `"
target = "/data"

[[volume]]
source = "` + roDir + `"
target = "/ro"
read_only = true
`
	if sandbox != "" {
		d += "\n[security]\nunit_sandbox = \"" + sandbox + "\"\n"
	}
	return d
}

var definitions = map[string]string{
	"fwd":          definition(fwdAddr, true, ""),
	"fwd-systemd":  definition(fwdSystemdAddr, true, "systemd"),
	"pass":         definition(passAddr, false, ""),
	"pass-systemd": definition(passSystemd, false, "systemd"),
}

var setupOnce sync.Once

func confineBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() {
		hello := images.Build(t, "./contrib/hello", b.Path("/opt/dockah-confine"))
		images.Import(t, b, "confine:test", []images.Entry{{Name: "hello", Source: hello}})
		for _, dir := range []string{dataDir, roDir, "/home/someone"} {
			if err := os.MkdirAll(b.Path(dir), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// The bind volumes are idmapped onto the containers' ranges,
		// which the box's overlayfs root cannot be: tmpfs can.
		for _, dir := range []string{dataDir, roDir} {
			if err := b.MountTmpfs(dir); err != nil {
				t.Fatal(err)
			}
		}
		for name, def := range definitions {
			if err := b.WriteFile("/etc/dockah/containers/"+name+".toml", []byte(def), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Systemctl("daemon-reload"); err != nil {
			t.Fatal(err)
		}
		for name := range definitions {
			if _, err := b.Systemctl("start", name+".socket"); err != nil {
				t.Fatal(err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// serve makes the container of name answer on addr, and returns the pid
// of its init.
func serve(t *testing.T, b *box.Box, name, addr string) string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		j, _ := b.Journal(name + ".service")
		t.Fatalf("GET %s: %v\n%s", addr, err, j)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hello") {
		t.Fatalf("GET %s: %q", addr, body)
	}
	if err := b.WaitUnitState(name+".service", 10*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	pid, err := b.Property(name+".service", "MainPID")
	if err != nil || pid == "0" {
		t.Fatalf("%s has no main pid (%v)", name, err)
	}
	t.Cleanup(func() { _, _ = b.Systemctl("stop", name+".service") })
	return pid
}

// dockahProcesses returns the shim and the forwarder of a container
// reached through a forwarded socket: the processes of dockah-activate in
// its unit's cgroup, the forwarder's named "[forward NAME]".
func dockahProcesses(t *testing.T, b *box.Box, name string) (shim, forwarder string) {
	t.Helper()
	cg, err := b.Property(name+".service", "ControlGroup")
	if err != nil || cg == "" {
		t.Fatalf("%s has no cgroup (%v)", name, err)
	}
	dir := "/sys/fs/cgroup" + cg
	if b.Layout() == box.Hybrid {
		dir = "/sys/fs/cgroup/unified" + cg
	}
	out, err := b.Run("cat", dir+"/cgroup.procs")
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range strings.Fields(out) {
		cmdline, _ := b.Run("cat", "/proc/"+pid+"/cmdline")
		args := strings.Split(strings.TrimRight(cmdline, "\x00"), "\x00")
		if filepath.Base(args[0]) != "dockah-activate" || len(args) < 2 {
			continue
		}
		if strings.HasPrefix(args[1], "[forward ") {
			forwarder = pid
		} else {
			shim = pid
		}
	}
	if shim == "" || forwarder == "" {
		t.Fatalf("%s's cgroup %s holds %q: no shim and forwarder", name, dir, out)
	}
	return shim, forwarder
}

// writable reports whether path is writable for root (access(2): a
// read-only mount says no), seen from the box.
func writable(b *box.Box, path string) bool {
	_, err := b.Run("test", "-w", path)
	return err == nil
}

// TestShimSandbox looks at the running shim of a container, under its own
// sandbox and under systemd's: the host's tree read-only but for the
// store and the writable volume's source, /home empty, /proc/sys
// read-only, /tmp private.
func TestShimSandbox(t *testing.T) {
	b := confineBox(t)
	if _, err := b.Run("touch", "/tmp/confine-marker", "/var/tmp/confine-marker", "/home/someone/file"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, addr string }{{"fwd", fwdAddr}, {"fwd-systemd", fwdSystemdAddr}} {
		t.Run(tc.name, func(t *testing.T) {
			serve(t, b, tc.name, tc.addr)
			shim, _ := dockahProcesses(t, b, tc.name)
			root := "/proc/" + shim + "/root"
			for _, p := range []string{"/usr", "/usr/bin", "/etc", "/", "/var/lib", "/opt", "/proc/sys", "/proc/sys/kernel/hostname", "/proc/sysrq-trigger", "/sys/kernel", "/sys/fs/cgroup", roDir} {
				if _, err := b.Run("test", "-e", root+p); err == nil && writable(b, root+p) {
					t.Errorf("the shim may write %s", p)
				}
			}
			for _, p := range []string{"/var/lib/dockah", "/var/lib/dockah/containers", dataDir} {
				if !writable(b, root+p) {
					t.Errorf("the shim may not write %s", p)
				}
			}
			for _, dir := range []string{"/home", "/root"} {
				if out, err := b.Run("ls", "-A", root+dir); err != nil || strings.TrimSpace(out) != "" {
					t.Errorf("the shim sees %s: %q (%v)", dir, out, err)
				}
			}
			for _, f := range []string{"/tmp/confine-marker", "/var/tmp/confine-marker"} {
				if _, err := b.Run("test", "-e", root+f); err == nil {
					t.Errorf("the shim sees the host's %s", f)
				}
			}
			if units, _ := b.Property(tc.name+".service", "ProtectSystem"); (units == "strict") != (tc.name == "fwd-systemd") {
				t.Errorf("ProtectSystem=%s", units)
			}
		})
	}
	// The negative control: seen through the box's pid 1, which has no
	// sandbox, the same checks see a writable tree, the home directories
	// and the markers.
	root := "/proc/1/root"
	if !writable(b, root+"/usr") || !writable(b, root+"/etc") {
		t.Error("control: the box's /usr or /etc is not writable: the check cannot tell")
	}
	if out, _ := b.Run("ls", "-A", root+"/home"); !strings.Contains(out, "someone") {
		t.Errorf("control: the box's /home holds %q", out)
	}
	if _, err := b.Run("test", "-e", root+"/tmp/confine-marker"); err != nil {
		t.Error("control: the box's /tmp marker is not seen")
	}
}

// TestShimMountTable: under its own sandbox, every mount the shim sees is
// read-only, nosuid and (but for /dev) nodev, except the ones it keeps as
// the host has them and its private /tmp and /var/tmp.
func TestShimMountTable(t *testing.T) {
	b := confineBox(t)
	serve(t, b, "fwd", fwdAddr)
	shim, _ := dockahProcesses(t, b, "fwd")
	out, err := b.Run("cat", "/proc/"+shim+"/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	keptAsIs := []string{"/var/lib/dockah", dataDir, "/tmp", "/var/tmp"}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		point, opts := mountinfo.Unescape(f[4]), ","+f[5]+","
		if slices.ContainsFunc(keptAsIs, func(k string) bool { return point == k || strings.HasPrefix(point, k+"/") }) {
			continue
		}
		masked := point == "/proc/kmsg" // /dev/null, where it can be mounted
		for _, want := range []string{"ro", "nosuid", "nodev"} {
			if want == "nodev" && (masked || point == "/dev" || strings.HasPrefix(point, "/dev/")) {
				continue
			}
			if !strings.Contains(opts, ","+want+",") {
				t.Errorf("the shim's %s is %s, want %s", point, f[5], want)
			}
		}
	}
}

// TestForwarderConfinement looks at the running forwarder: no capability
// in any set of any of its threads, no_new_privs, its seccomp filter, an
// empty root, and the container's network namespace.
func TestForwarderConfinement(t *testing.T) {
	b := confineBox(t)
	for _, tc := range []struct{ name, addr string }{{"fwd", fwdAddr}, {"fwd-systemd", fwdSystemdAddr}} {
		t.Run(tc.name, func(t *testing.T) {
			init := serve(t, b, tc.name, tc.addr)
			_, fw := dockahProcesses(t, b, tc.name)
			tasks, err := b.Run("ls", "/proc/"+fw+"/task")
			if err != nil {
				t.Fatal(err)
			}
			for _, task := range strings.Fields(tasks) {
				status, err := b.Run("cat", "/proc/"+fw+"/task/"+task+"/status")
				if err != nil {
					continue // a thread that just ended
				}
				fields := map[string]string{}
				for _, line := range strings.Split(status, "\n") {
					if k, v, ok := strings.Cut(line, ":"); ok {
						fields[k] = strings.TrimSpace(v)
					}
				}
				for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
					if fields[set] != "0000000000000000" {
						t.Errorf("thread %s: %s %s", task, set, fields[set])
					}
				}
				if fields["NoNewPrivs"] != "1" || fields["Seccomp"] != "2" {
					t.Errorf("thread %s: NoNewPrivs %s, Seccomp %s", task, fields["NoNewPrivs"], fields["Seccomp"])
				}
			}
			if out, err := b.Run("ls", "-A", "/proc/"+fw+"/root/"); err != nil || strings.TrimSpace(out) != "" {
				t.Errorf("the forwarder's root holds %q (%v)", out, err)
			}
			if writable(b, "/proc/"+fw+"/root/") {
				t.Error("the forwarder's root is writable")
			}
			ns, _ := b.Run("readlink", "/proc/"+fw+"/ns/net")
			containerNS, _ := b.Run("readlink", "/proc/"+init+"/ns/net")
			if ns == "" || ns != containerNS {
				t.Errorf("the forwarder's network namespace %q is not the container's %q", ns, containerNS)
			}
		})
	}
}

// TestContainerUnchanged: the container sees the same mount table whether
// the shim confined itself or systemd did: it never sees the shim's view
// of the host, only its own root.
func TestContainerUnchanged(t *testing.T) {
	b := confineBox(t)
	table := func(name, addr string) []string {
		init := serve(t, b, name, addr)
		out, err := b.Run("cat", "/proc/"+init+"/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		var mounts []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			sep := slices.Index(f, "-")
			// Mount point, options, type: not ids, devices or sources.
			point, opts := mountinfo.Unescape(f[4]), f[5]
			if point == "/dev/log" {
				// A bind of the journal's socket keeps the flags of
				// the shim's /run: read-only under the shim's own
				// sandbox, writable under systemd's. Sending to a
				// socket does not write its file system.
				opts = strings.Replace(opts, "ro,", "rw,", 1)
			}
			mounts = append(mounts, point+" "+opts+" "+f[sep+1])
		}
		sort.Strings(mounts)
		return mounts
	}
	own, bySystemd := table("pass", passAddr), table("pass-systemd", passSystemd)
	if !slices.Equal(own, bySystemd) {
		t.Errorf("the container's mounts differ:\nshim's sandbox:\n%s\nsystemd's:\n%s", strings.Join(own, "\n"), strings.Join(bySystemd, "\n"))
	}
	for _, m := range own {
		for _, host := range []string{"/home ", "/usr ", "/var/lib/dockah", "/etc "} {
			if strings.HasPrefix(m, host) {
				t.Errorf("the container sees %s", m)
			}
		}
	}
}
