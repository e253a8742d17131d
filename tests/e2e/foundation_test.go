package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// TestInstalledBinariesAnswerHelp checks the layout "make install
// DESTDIR=ROOT PREFIX=/usr" put into the box.
func TestInstalledBinariesAnswerHelp(t *testing.T) {
	b := box.Shared(t)
	for _, bin := range []string{
		"/usr/bin/dockah",
		"/usr/libexec/dockah/dockah-full",
		"/usr/lib/systemd/system-generators/dockah-generator",
		"/usr/libexec/dockah/dockah-activate",
	} {
		out, err := b.Run(bin, "--help")
		if err != nil {
			t.Errorf("%s --help: %v", bin, err)
			continue
		}
		if !strings.Contains(out, "dockah") {
			t.Errorf("%s --help printed no usage:\n%s", bin, out)
		}
	}
	// dockah is the lean build: it hands what it does not have (the
	// usage of every command, pull) to the full build.
	if out, err := b.Run("/usr/bin/dockah", "--help"); err != nil || !strings.Contains(out, "pull") || !strings.Contains(out, "build") {
		t.Errorf("dockah --help does not list the full build's commands (%v):\n%s", err, out)
	}
	if fi, err := os.Stat(b.Path("/etc/dockah/containers")); err != nil || !fi.IsDir() {
		t.Errorf("/etc/dockah/containers not installed: %v", err)
	}
}

// TestSocketActivatedServiceAnswersFirstConnection: a socket unit on
// 127.0.0.1 starts the hello server on the first connection from the test
// process, which is answered, and the server's stdout is in the journal.
func TestSocketActivatedServiceAnswersFirstConnection(t *testing.T) {
	b := box.Shared(t)
	hello := BuildHello(t, b, "/opt/dockah-test/hello")
	const addr = "127.0.0.1:18001"
	writeUnit(t, b, "hello-e2e.socket", "[Socket]\nListenStream="+addr+"\n")
	writeUnit(t, b, "hello-e2e.service", "[Service]\nExecStart="+hello+"\n")
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("start", "hello-e2e.socket"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = b.Systemctl("stop", "hello-e2e.socket", "hello-e2e.service") })

	if state, _ := b.Property("hello-e2e.service", "ActiveState"); state != "inactive" {
		t.Fatalf("service is %q before the first connection, want inactive", state)
	}
	body := httpGet(t, "http://"+addr+"/")
	if !strings.Contains(body, "hello from dockah") {
		t.Fatalf("answer %q, want the greeting", body)
	}
	if err := b.WaitUnitState("hello-e2e.service", 10*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	journal, err := b.WaitJournal("hello-e2e.service", "hello: GET /", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(journal, "socket-activated") {
		t.Errorf("the server did not take its socket from systemd:\n%s", journal)
	}
}

// BuildHello builds the static hello server into the box at path.
func BuildHello(t *testing.T, b *box.Box, path string) string {
	t.Helper()
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", b.Path(path), "./contrib/hello")
	cmd.Dir = project
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build hello: %v\n%s", err, out)
	}
	return path
}

func writeUnit(t *testing.T, b *box.Box, name, text string) {
	t.Helper()
	if err := b.WriteFile(filepath.Join("/etc/systemd/system", name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(data)
}
