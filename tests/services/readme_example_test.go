package services

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/unitgen"
)

// TestREADMEExample runs the README's example definition as it is written,
// with only its listening address moved to this package's port: the
// read-only nginx with its tmpfs, capabilities and named volume serves.
func TestREADMEExample(t *testing.T) {
	need(t, "curl", "curl")
	b := nginx.start(t) // imports dockah/nginx:latest, the README's image
	readme, err := os.ReadFile(filepath.Join(projectDir(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```toml\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("the README has no example definition")
	}
	example := string(m[1])
	if !strings.Contains(example, `image = "dockah/nginx:latest"`) || !strings.Contains(example, "read_only = true") {
		t.Fatalf("the README's example is not the read-only nginx this test runs:\n%s", example)
	}
	def, err := unitgen.Parse("readme-web", unitgen.File{Path: "README.md", Data: []byte(example)})
	if err != nil {
		t.Fatal(err)
	}
	const addr = "127.0.0.1:18706"
	files := map[string]string{
		"/etc/dockah/containers/readme-web.toml":                     example,
		"/etc/dockah/containers/readme-web.toml.d/50-no-socket.toml": "socket = []\n",
		"/etc/dockah/containers/readme-web.toml.d/51-socket.toml":    "[[socket]]\nlisten = \"" + addr + "\"\nport = 80\n",
	}
	for path, content := range files {
		if err := b.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = b.Systemctl("stop", "readme-web.socket", "readme-web.service")
		// The volume this test made by hand is nginx's too: TestNginx
		// checks that its first start fills it with the image's content.
		_ = os.RemoveAll(filepath.Dir(volume(b, def.Volumes[0].Source, "")))
		_ = os.RemoveAll(b.Path("/etc/dockah/containers/readme-web.toml.d"))
		_ = os.Remove(b.Path("/etc/dockah/containers/readme-web.toml"))
		_, _ = b.Systemctl("daemon-reload")
		if t.Failed() {
			journal, _ := b.Journal("readme-web.service")
			t.Logf("journal of readme-web.service:\n%s", journal)
		}
	})
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("start", "readme-web.socket"); err != nil {
		t.Fatal(err)
	}
	// The first connection starts it; the named volume starts with the
	// image's web root (or is the one TestNginx made).
	if body, status := curl(t, "http://"+addr+"/"); status != "200" || !strings.Contains(body, "nginx") {
		t.Fatalf("GET /: %s %q, want nginx's welcome page or the site", status, body)
	}
	page := "<p>the README's example</p>\n"
	if err := os.WriteFile(volume(b, def.Volumes[0].Source, "readme.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	if body, status := curl(t, "http://"+addr+"/readme.html"); status != "200" || body != page {
		t.Fatalf("GET /readme.html: %s %q, want %q", status, body, page)
	}
	if err := b.WaitUnitState("readme-web.service", 10*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	for property, want := range map[string]string{"MemoryMax": "268435456", "TasksMax": "64", "CPUSchedulingPolicy": "3"} {
		if got, _ := b.Property("readme-web.service", property); got != want {
			t.Errorf("readme-web.service %s=%q, want %q", property, got, want)
		}
	}
}
