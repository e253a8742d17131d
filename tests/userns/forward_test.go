package userns

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/images"
)

// TestForwardedSocketIntoUserNamespace: a container in a user namespace
// of its own whose server binds its own port, behind a forwarded socket.
// The forwarder starts as soon as the container's network namespace
// exists, before the user namespace's maps are written and before the
// root is built, and joins that namespace; the first connection starts
// the container and gets the page.
func TestForwardedSocketIntoUserNamespace(t *testing.T) {
	b := usernsBox(t)
	images.Import(t, b, "uns:fwd", append(images.Busybox(t, "sh", "httpd"),
		images.Entry{Name: "www", Dir: true, Mode: 0o755},
		images.Entry{Name: "www/index.html", Data: []byte("served from a user namespace\n"), Mode: 0o644},
	))
	define(t, b, "uns-fwd", `[container]
image = "uns:fwd"
entrypoint = ["/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"]

[[socket]]
listen = "127.0.0.1:19050"
port = 8080

[security]
userns = "auto"
`)
	if out, err := b.Systemctl("start", "uns-fwd.socket"); err != nil {
		t.Fatalf("start uns-fwd.socket: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = b.Systemctl("stop", "uns-fwd.socket") })
	for round := 0; round < 2; round++ {
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://127.0.0.1:19050/")
		if err != nil {
			journal, _ := b.Journal("uns-fwd.service")
			t.Fatalf("round %d: GET: %v\n%s", round, err, journal)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "served from a user namespace") {
			t.Fatalf("round %d: got %q", round, body)
		}
		pid := start(t, b, "uns-fwd")
		if m := readMap(t, b, pid, "uid_map"); m.Host < 524288 {
			t.Errorf("round %d: the server runs as host uid %d, want a range of its own", round, m.Host)
		}
		// A cold start again.
		if out, err := b.Systemctl("stop", "uns-fwd.service"); err != nil {
			t.Fatalf("stop: %v\n%s", err, out)
		}
	}
}
