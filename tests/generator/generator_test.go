package generator

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// Ports 18100-18199 belong to this package; unit names start with "gen-".

// shim is where "make install PREFIX=/usr" puts the activation shim.
const shim = "/usr/libexec/dockah/dockah-activate"

const containers = "/etc/dockah/containers/"

// define writes files into the box (paths below /etc/dockah/containers
// unless absolute) and reloads systemd, which runs the generator.
func define(t *testing.T, b *box.Box, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := name
		if !strings.HasPrefix(p, "/") {
			p = containers + name
		}
		if err := b.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reload(t, b)
}

func reload(t *testing.T, b *box.Box) {
	t.Helper()
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
}

// contains fails the test unless text has every one of wants.
func contains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func property(t *testing.T, b *box.Box, unit, name string) string {
	t.Helper()
	v, err := b.Property(unit, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUnitsAfterDaemonReload(t *testing.T) {
	b := box.Shared(t)
	define(t, b, map[string]string{"gen-web.toml": `[container]
image = "library/nginx:1.25"

[[socket]]
listen = "127.0.0.1:18100"
name = "http"

[[socket]]
listen = "/run/gen-web/50%.sock"
name = "http"

[resources]
memory_max = "256M"

[service]
stop_timeout = "15s"
wanted_by = ["sockets.target"]
`})
	service, err := b.Systemctl("cat", "gen-web.service")
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "systemctl cat gen-web.service", service,
		"# /run/systemd/generator/gen-web.service",
		"SourcePath=/etc/dockah/containers/gen-web.toml",
		"ExecStart="+shim+" gen-web\n",
		"Type=notify", "KillMode=mixed", "Sockets=gen-web.socket",
		"LogExtraFields=DOCKAH_IMAGE=library/nginx:1.25")
	socket, err := b.Systemctl("cat", "gen-web.socket")
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "systemctl cat gen-web.socket", socket, "ListenStream=127.0.0.1:18100", "FileDescriptorName=http")

	// What systemd made of the units: the values we escaped.
	for _, p := range []struct{ unit, name, want string }{
		{"gen-web.service", "LoadState", "loaded"},
		{"gen-web.service", "MemoryMax", "268435456"},
		{"gen-web.service", "TimeoutStopUSec", "15s"},
		{"gen-web.service", "ExecStart", "argv[]=" + shim + " gen-web ;"},
		{"gen-web.socket", "Listen", "127.0.0.1:18100 (Stream)\n/run/gen-web/50%.sock (Stream)"},
		{"gen-web.socket", "FileDescriptorName", "http"},
		{"gen-web.socket", "WantedBy", "sockets.target"},
	} {
		if got := property(t, b, p.unit, p.name); !strings.Contains(got, p.want) {
			t.Errorf("%s %s = %q, want %q in it", p.unit, p.name, got, p.want)
		}
	}
}

func TestStartSocketListens(t *testing.T) {
	b := box.Shared(t)
	define(t, b, map[string]string{
		"gen-listen.toml": `[container]
image = "library/nginx:1.25"

[[socket]]
listen = "127.0.0.1:18110"
port = 80
`,
		"gen-tpl@.toml": `[container]
image = "library/nginx:1.25"

[[socket]]
listen = "127.0.0.1:181%i"
`,
	})
	for _, unit := range []string{"gen-listen.socket", "gen-tpl@11.socket"} {
		if _, err := b.Systemctl("start", unit); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = b.Systemctl("stop", unit) })
	}
	out, err := b.Run("ss", "-Hltn")
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "ss -ltn in the box", out, "127.0.0.1:18110", "127.0.0.1:18111")
	if got := property(t, b, "gen-tpl@11.socket", "Listen"); got != "127.0.0.1:18111 (Stream)" {
		t.Errorf("gen-tpl@11.socket listens on %q, want the template's port with the instance", got)
	}
}

func TestBadDefinitionIsReported(t *testing.T) {
	b := box.Shared(t)
	define(t, b, map[string]string{
		"gen-bad.toml": `[container]
image = "library/nginx:1.25"

[[socket]]
listen = "80800"
`,
		"gen-needs-bad.toml": `[container]
image = "library/app:1"

[service]
requires = ["gen-bad"]
`,
	})
	problem := `dockah: /etc/dockah/containers/gen-bad.toml:5: socket.listen: "80800" is not a port (accepted: PORT 1-65535, ADDR:PORT, [ADDR]:PORT, or an absolute unix socket path)`
	waitFor(t, func() (string, error) {
		return b.Run("journalctl", "-b", "--no-pager", "-o", "cat", "DOCKAH_CONTAINER=gen-bad")
	}, problem)

	// The good one still loads, and the bad one has a unit that says why.
	if got := property(t, b, "gen-needs-bad.service", "LoadState"); got != "loaded" {
		t.Errorf("gen-needs-bad.service is %s, want loaded", got)
	}
	if got := property(t, b, "gen-bad.service", "Description"); !strings.Contains(got, `"80800" is not a port`) {
		t.Errorf("gen-bad.service's Description %q does not name the problem", got)
	}
	if _, err := b.Systemctl("start", "gen-bad.service"); err == nil {
		t.Error("gen-bad.service started")
	}
	if _, err := b.WaitJournal("gen-bad.service", strings.TrimPrefix(problem, ""), 10*time.Second); err != nil {
		t.Error(err)
	}
	status, _ := b.Systemctl("status", "-n", "20", "gen-bad.service")
	contains(t, "systemctl status gen-bad", status, `is not a port`, "failed")
	if _, err := b.Systemctl("start", "gen-needs-bad.service"); err == nil {
		t.Error("gen-needs-bad.service started without the container it requires")
	}
	// journald takes a moment to have it.
	if _, err := b.WaitJournal("gen-needs-bad.service", "Dependency failed", 10*time.Second); err != nil {
		t.Error(err)
	}
}

func TestDropInTakesEffect(t *testing.T) {
	b := box.Shared(t)
	define(t, b, map[string]string{"gen-drop.toml": `[container]
image = "library/nginx:1.25"

[resources]
memory_max = "256M"
`})
	if got := property(t, b, "gen-drop.service", "MemoryMax"); got != "268435456" {
		t.Fatalf("MemoryMax = %s before the drop-in", got)
	}
	define(t, b, map[string]string{
		"gen-drop.toml.d/10-memory.toml":                           "[resources]\nmemory_max = \"512M\"\n",
		"/usr/lib/dockah/containers/gen-drop.toml.d/20-tasks.toml": "[resources]\ntasks_max = 64\n",
	})
	if got := property(t, b, "gen-drop.service", "MemoryMax"); got != "536870912" {
		t.Errorf("MemoryMax = %s after the drop-in, want 536870912", got)
	}
	if got := property(t, b, "gen-drop.service", "TasksMax"); got != "64" {
		t.Errorf("TasksMax = %s after the drop-in in /usr/lib, want 64", got)
	}
	unit, _ := b.Systemctl("cat", "gen-drop.service")
	contains(t, "systemctl cat gen-drop.service", unit, "# and /etc/dockah/containers/gen-drop.toml.d/10-memory.toml")
}

func TestMaskingRemovesUnits(t *testing.T) {
	b := box.Shared(t)
	define(t, b, map[string]string{"/usr/lib/dockah/containers/gen-masked.toml": "[container]\nimage = \"library/nginx:1.25\"\n"})
	if got := property(t, b, "gen-masked.service", "LoadState"); got != "loaded" {
		t.Fatalf("gen-masked.service is %s before masking", got)
	}
	if err := os.Symlink("/dev/null", b.Path(containers+"gen-masked.toml")); err != nil {
		t.Fatal(err)
	}
	reload(t, b)
	if got := property(t, b, "gen-masked.service", "LoadState"); got != "not-found" {
		t.Errorf("gen-masked.service is %s after masking, want not-found", got)
	}
}

// waitFor polls get until its output contains want: the journal takes a
// moment to have what the generator sent.
func waitFor(t *testing.T, get func() (string, error), want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := get()
		if err == nil && strings.Contains(out, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q after 10s (%v):\n%s", want, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
