package ops

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
)

// crashAddr is the socket of the container that keeps failing.
const crashAddr = "127.0.0.1:18401"

// crashDefinition is a socket-activated container running entrypoint.
func crashDefinition(entrypoint string) string {
	return `[container]
image = "ops:test"
entrypoint = [` + quoteTOML(entrypoint) + `]

[[socket]]
listen = "` + crashAddr + `"
name = "http"
`
}

// TestRecoverFromStartLimit: a socket-activated container whose
// entrypoint exits 1 at once, connected to six times, runs into systemd's
// start limit and its socket fails. Once the definition is fixed, dockah
// start (or restart) is all it takes: the failed units are reset, the
// socket listens again and the container answers. A start that fails
// says how the main process ended and the service's result.
func TestRecoverFromStartLimit(t *testing.T) {
	b := opsBox(t)
	const name = "crasher"
	path := "/etc/dockah/containers/" + name + ".toml"
	t.Cleanup(func() {
		_, _ = b.Systemctl("stop", name+".socket", name+".service")
		_ = os.Remove(b.Path(path))
		_, _ = b.Systemctl("daemon-reload")
		_, _ = b.Systemctl("reset-failed", name+".socket", name+".service", "dockah-pull@"+name+".service")
	})
	for _, verb := range []string{"start", "restart"} {
		t.Run(verb, func(t *testing.T) {
			define(t, b, path, crashDefinition("/bin/false"))
			if _, err := b.Systemctl("start", name+".socket"); err != nil {
				t.Fatal(err)
			}
			driveIntoStartLimit(t, b, name)
			if verb == "start" {
				// As the docs say: fix, daemon-reload, dockah start.
				// The reload alone leaves the socket failed.
				define(t, b, path, crashDefinition("/hello"))
				if state, _ := b.Property(name+".socket", "ActiveState"); state != "failed" {
					t.Errorf("after daemon-reload: %s.socket is %s; the docs say it stays failed", name, state)
				}
			} else {
				// The shim reads the entrypoint at each start, so no
				// daemon-reload is needed; without one (which resets
				// the count on systemd 252) the start limit still holds.
				if err := b.WriteFile(path, []byte(crashDefinition("/hello")), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dockah(t, b, verb, name)
			if state, _ := b.Property(name+".socket", "ActiveState"); state != "active" {
				t.Errorf("after dockah %s: %s.socket is %s, want active (listening again)", verb, name, state)
			}
			if state, _ := b.Property(name+".service", "ActiveState"); state != "active" {
				t.Errorf("after dockah %s: %s.service is %s, want active", verb, name, state)
			}
			getHello(t, crashAddr)
			stop(t, b, name)
			// The socket starts the container again after the stop.
			getHello(t, crashAddr)
			if err := b.WaitUnitState(name+".service", 10*time.Second, "active"); err != nil {
				t.Fatal(err)
			}
			stop(t, b, name)
		})
	}
	t.Run("failure", func(t *testing.T) {
		// An entrypoint that is not there: the shim exits 127 (not
		// found, as shells and podman say) before the container runs,
		// and the start job fails.
		define(t, b, path, crashDefinition("/nonexistent"))
		r := run(t, b, "dockah", "start", name)
		oneLineError(t, r, "start "+name+".service: job failed: main process exited with status 127, result exit-code (see: dockah logs "+name+")")
	})
}

// define writes a definition into the box and reloads systemd.
func define(t *testing.T, b *box.Box, path, text string) {
	t.Helper()
	if err := b.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
}

// driveIntoStartLimit connects to the socket of a container that fails at
// once until systemd gives up: the socket fails, with the start limit of
// its service or its own trigger limit as the result.
func driveIntoStartLimit(t *testing.T, b *box.Box, name string) {
	t.Helper()
	for i := 0; i < 6; i++ {
		conn, err := net.DialTimeout("tcp", crashAddr, 2*time.Second)
		if err != nil {
			break // the socket already failed and closed
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, conn) // until the failed start closes it
		conn.Close()
	}
	if err := b.WaitUnitState(name+".socket", 20*time.Second, "failed"); err != nil {
		t.Fatalf("the socket of a container that exits 1 did not fail: %v", err)
	}
	result, _ := b.Property(name+".socket", "Result")
	if result != "service-start-limit-hit" && result != "trigger-limit-hit" {
		t.Errorf("%s.socket failed with result %q, want service-start-limit-hit or trigger-limit-hit", name, result)
	}
	if _, err := net.DialTimeout("tcp", crashAddr, 2*time.Second); err == nil {
		t.Errorf("%s still accepts connections though its socket failed", crashAddr)
	}
}

// getHello checks that the hello server answers at addr.
func getHello(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if body, _ := io.ReadAll(resp.Body); !strings.Contains(string(body), "hello from dockah") {
		t.Fatalf("%s answered %q", addr, body)
	}
}
