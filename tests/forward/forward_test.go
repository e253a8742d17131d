package forward

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
	"github.com/dockah/dockah/tests/testenv"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// Ports 18600-18699 belong to this package.
const (
	webAddr    = "127.0.0.1:18601"
	idleAddr   = "127.0.0.1:18602"
	mixedPass  = "127.0.0.1:18603"
	mixedFwd   = "127.0.0.1:18604"
	silentAddr = "127.0.0.1:18605"
	runAddr    = "127.0.0.1:18606"
)

// The hello server here ignores LISTEN_FDS and binds 127.0.0.1:8080 in
// the container, as images that never heard of socket activation do.
var definitions = map[string]string{
	"web": `[container]
image = "fwd:test"
entrypoint = ["/hello"]
environment = { HELLO_IGNORE_LISTEN_FDS = "1", HELLO_LISTEN = "127.0.0.1:8080" }

[[socket]]
listen = "` + webAddr + `"
port = 8080
`,
	"idle": `[container]
image = "fwd:test"
entrypoint = ["/hello"]
environment = { HELLO_IGNORE_LISTEN_FDS = "1", HELLO_LISTEN = "127.0.0.1:8080" }

[[socket]]
listen = "` + idleAddr + `"
port = 8080

[service]
idle_timeout = "2s"
`,
	"mixed": `[container]
image = "fwd:test"
entrypoint = ["/hello"]
environment = { HELLO_ALSO_LISTEN = "127.0.0.1:8080" }

[[socket]]
listen = "` + mixedPass + `"
name = "direct"

[[socket]]
listen = "` + mixedFwd + `"
name = "forwarded"
port = 8080
`,
	"silent": `[container]
image = "fwd:test"
entrypoint = ["/hello"]
environment = { HELLO_IGNORE_LISTEN_FDS = "1", HELLO_LISTEN = "127.0.0.1:9999" }

[[socket]]
listen = "` + silentAddr + `"
port = 8080

[service]
start_timeout = "4s"
`,
}

var setupOnce sync.Once

func fwdBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() {
		hello := images.Build(t, "./contrib/hello", b.Path("/opt/dockah-fwd"))
		entries := append(images.Busybox(t, "sh", "echo", "cat", "true", "tty"), images.Entry{Name: "hello", Source: hello})
		images.Import(t, b, "fwd:test", entries)
		for name, def := range definitions {
			if err := b.WriteFile("/etc/dockah/containers/"+name+".toml", []byte(def), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Systemctl("daemon-reload"); err != nil {
			t.Fatal(err)
		}
		for name := range definitions {
			units := []string{name + ".socket"}
			if name == "mixed" {
				units = []string{"mixed.socket", "mixed-forwarded.socket"}
			}
			if _, err := b.Systemctl(append([]string{"start"}, units...)...); err != nil {
				t.Fatal(err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// get makes one request on a connection of its own, closed afterwards:
// a kept-alive connection is an open connection, and would rightly keep
// an idle container from stopping.
func get(url string) (string, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	body, err := get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return body
}

func TestForwardedSocketStartsContainer(t *testing.T) {
	b := fwdBox(t)
	if body := mustGet(t, "http://"+webAddr+"/"); !strings.Contains(body, "hello from dockah") {
		t.Fatalf("answer %q", body)
	}
	journal, err := b.WaitJournal("web.service", "bound itself", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(journal, "127.0.0.1:8080") {
		t.Errorf("the server did not bind its own port:\n%s", journal)
	}
}

func TestManyFirstForwardedConnections(t *testing.T) {
	b := fwdBox(t)
	if _, err := b.Systemctl("stop", "web.service"); err != nil {
		t.Fatal(err)
	}
	testenv.AllAtOnce(t, 200, func(i int) error {
		body, err := get(fmt.Sprintf("http://%s/?n=%d", webAddr, i))
		if err == nil && !strings.Contains(body, "hello from dockah") {
			err = fmt.Errorf("answer %q", body)
		}
		return err
	})
}

func TestIdleContainerStopsAndRestarts(t *testing.T) {
	b := fwdBox(t)
	mustGet(t, "http://"+idleAddr+"/")
	if err := b.WaitUnitState("idle.service", 15*time.Second, "inactive"); err != nil {
		t.Fatal(err)
	}
	if state, _ := b.Property("idle.socket", "ActiveState"); state != "active" {
		t.Fatalf("idle.socket is %q after the idle stop, want it listening", state)
	}
	if body := mustGet(t, "http://"+idleAddr+"/"); !strings.Contains(body, "hello from dockah") {
		t.Fatalf("answer after the idle stop %q", body)
	}
	if err := b.WaitUnitState("idle.service", 5*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
}

func TestPassedAndForwardedSocketsTogether(t *testing.T) {
	b := fwdBox(t)
	for _, addr := range []string{mixedPass, mixedFwd} {
		if body := mustGet(t, "http://"+addr+"/"); !strings.Contains(body, "hello from dockah") {
			t.Fatalf("%s answered %q", addr, body)
		}
	}
	journal, err := b.Journal("mixed.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(journal, "LISTEN_FDNAMES=direct") || strings.Contains(journal, "forwarded:") {
		t.Errorf("only the socket without a port is passed in:\n%s", journal)
	}
}

func TestAppThatNeverListensFailsTheUnit(t *testing.T) {
	b := fwdBox(t)
	if _, err := get("http://" + silentAddr + "/"); err == nil {
		t.Fatal("a connection to an app that never listens was answered")
	}
	if err := b.WaitUnitState("silent.service", 20*time.Second, "failed"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitJournal("silent.service", "never listened on its port", 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestRunEchoHi(t *testing.T) {
	b := fwdBox(t)
	out, err := b.Run("dockah", "run", "--rm", "--name", "echo-hi", "fwd:test", "echo", "hi")
	if err != nil {
		t.Fatalf("dockah run: %v", err)
	}
	if strings.TrimSpace(out) != "hi" {
		t.Errorf("dockah run printed %q, want hi", out)
	}
	if _, err := os.Stat(b.StoreDir() + "/containers/echo-hi"); !os.IsNotExist(err) {
		t.Errorf("dockah run --rm left the writable layer: %v", err)
	}
	out, err = b.Run("dockah", "run", "fwd:test", "echo", "Hello, World!")
	if err != nil || !strings.Contains(out, "Hello, World!") {
		t.Errorf("dockah run hello world: %q %v", out, err)
	}
}

func TestRunPassesExitStatus(t *testing.T) {
	b := fwdBox(t)
	_, err := b.Run("dockah", "run", "--rm", "fwd:test", "sh", "-c", "exit 7")
	if err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("dockah run of a command that exits 7: %v", err)
	}
}

func TestRunPublishesPort(t *testing.T) {
	b := fwdBox(t)
	cmd := b.Command(t.Context(), "dockah", "run", "--rm", "--name", "pub", "-p", runAddr+":8080", "-e", "HELLO_IGNORE_LISTEN_FDS=1", "-e", "HELLO_LISTEN=127.0.0.1:8080", "fwd:test", "/hello")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		body, err := get("http://" + runAddr + "/")
		if err == nil && strings.Contains(body, "hello from dockah") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockah run -p: no answer on %s: %v %q", runAddr, err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := b.Systemctl("stop", "pub.service"); err != nil {
		t.Fatal(err)
	}
}

// A detached container of dockah run is a transient service with the
// sandbox of a generated one, as systemd itself reports it. (An attached
// run is a scope: tests/run's TestRunAttachedIsAScope.)
func TestRunIsSandboxed(t *testing.T) {
	b := fwdBox(t)
	if _, err := b.Run("dockah", "run", "-d", "--name", "sandboxed", "-e", "HELLO_IGNORE_LISTEN_FDS=1", "-e", "HELLO_LISTEN=127.0.0.1:8080", "fwd:test", "/hello"); err != nil {
		t.Fatal(err)
	}
	defer b.Run("dockah", "rm", "-f", "sandboxed")
	if err := b.WaitUnitState("sandboxed.service", 20*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	// The cheap directives of the generated units; the shim builds the
	// read-only view of the host itself (tests/confine).
	for property, want := range map[string]string{
		"ProtectSystem": "no", "PrivateMounts": "no", "PrivateNetwork": "yes", "ProtectClock": "yes",
		"NoNewPrivileges": "yes", "SystemCallErrorNumber": "1", "UMask": "0077",
	} {
		if got, err := b.Property("sandboxed.service", property); err != nil || got != want {
			t.Errorf("%s=%q (%v), want %q", property, got, err, want)
		}
	}
	report, _ := b.Run("systemd-analyze", "security", "sandboxed.service")
	m := regexp.MustCompile(`Overall exposure level for sandboxed\.service: ([0-9.]+)`).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", report)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("systemd-analyze security sandboxed.service: %.1f", score)
	// As for a generated unit of the default definition (tests'
	// TestDefaultUnitExposure): systemd-analyze cannot see the shim's
	// own mount namespace, and counts the user namespace the default
	// container has (RestrictNamespaces= allows user) against it.
	if score > 5.6 {
		t.Errorf("exposure %.1f, want at most 5.6 as for a generated unit:\n%s", score, report)
	}
}

func TestRunWithTerminal(t *testing.T) {
	b := fwdBox(t)
	// script(1) gives dockah run a terminal of its own to relay.
	out, err := b.Run("script", "-qec", "dockah run --rm -it fwd:test sh -c 'tty; exit 3'", "/dev/null")
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("dockah run -it of a command that exits 3: %v", err)
	}
	if !strings.Contains(out, "/dev/console") || strings.Contains(out, "not a tty") {
		t.Errorf("the container has no terminal:\n%s", out)
	}
}

// TestFailedStartLeavesNoForwarder: the forwarder starts while the
// container is still being built; when the build then fails (the
// entrypoint does not exist in the image), the unit fails and the
// forwarder goes with it.
func TestFailedStartLeavesNoForwarder(t *testing.T) {
	b := fwdBox(t)
	const addr = "127.0.0.1:18607"
	if err := b.WriteFile("/etc/dockah/containers/broken.toml", []byte(`[container]
image = "fwd:test"
entrypoint = ["/no-such-server"]

[[socket]]
listen = "`+addr+`"
port = 8080
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFile("/etc/systemd/system/broken.service.d/trace.conf", []byte("[Service]\nEnvironment=DOCKAH_TRACE=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = b.Systemctl("stop", "broken.socket", "broken.service")
		_ = os.Remove(b.Path("/etc/dockah/containers/broken.toml"))
		_, _ = b.Systemctl("daemon-reload")
		_, _ = b.Systemctl("reset-failed", "broken.service", "broken.socket")
	})
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if out, err := b.Systemctl("start", "broken.socket"); err != nil {
		t.Fatalf("start broken.socket: %v\n%s", err, out)
	}
	if _, err := get("http://" + addr + "/"); err == nil {
		t.Fatal("a container whose entrypoint does not exist answered")
	}
	if err := b.WaitUnitState("broken.service", 20*time.Second, "failed"); err != nil {
		t.Fatal(err)
	}
	journal, _ := b.Journal("broken.service")
	if !strings.Contains(journal, "no-such-server") {
		t.Errorf("the journal does not name the missing entrypoint:\n%s", journal)
	}
	// The trace says the forwarder had started before the build failed:
	// the case this test is for.
	if !strings.Contains(journal, "shim: forwarder started") {
		t.Errorf("no forwarder had started before the failure (not the early start?):\n%s", journal)
	}
	ps, err := b.Run("ps", "-eo", "args")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ps, "[forward broken]") {
		t.Errorf("a forwarder of the failed start is left:\n%s\njournal:\n%s", ps, journal)
	}
}
