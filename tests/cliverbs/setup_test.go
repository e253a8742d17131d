package cliverbs

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// Ports 18800-18899 belong to this package.
const fwdAddr = "127.0.0.1:18800"

// applets are the busybox applets of the test image.
var applets = []string{"sh", "sleep", "cat", "echo", "dd", "httpd", "mkdir", "true"}

// The containers, all of image cv:test:
//
//   - busy works: a shell loop burns CPU, a dd holds 8 MiB in a pipe
//     buffer's worth of memory, sleep waits; its named volume is cvdata;
//   - hostnet shares the host's network (no network counters of its own);
//   - fwd is reached through a forwarded socket: busybox httpd listens on
//     its own port and dockah's forwarder stays in its cgroup.
var definitions = map[string]string{
	"busy": `[container]
image = "cv:test"
entrypoint = ["/bin/sh", "-c", "trap 'exit 0' TERM; echo data > /data/f; (while true; do echo x > /dev/null; done) & dd if=/dev/zero bs=8M count=1 | sleep 100000 & wait"]

[[volume]]
source = "cvdata"
target = "/data"
`,
	"hostnet": `[container]
image = "cv:test"
network = "host"
entrypoint = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
`,
	"fwd": `[container]
image = "cv:test"
entrypoint = ["/bin/httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/"]

[[socket]]
listen = "` + fwdAddr + `"
port = 8080
`,
}

var setupOnce sync.Once

// cvBox imports the test image and defines the containers, once for the
// package, and returns the box.
func cvBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() { setup(t, b) })
	if t.Failed() {
		t.FailNow()
	}
	return b
}

func setup(t *testing.T, b *box.Box) {
	images.Import(t, b, "cv:test", images.Busybox(t, applets...))
	for name, def := range definitions {
		if err := b.WriteFile("/etc/dockah/containers/"+name+".toml", []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
}

// dockahJSON runs the CLI and decodes its output into v.
func dockahJSON(t *testing.T, b *box.Box, v any, args ...string) {
	t.Helper()
	out := b.Dockah(t, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("dockah %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// start starts a container and waits until it runs as itself (its main
// pid is the container's init, not the shim).
func start(t *testing.T, b *box.Box, name string) string {
	t.Helper()
	_, _ = b.Systemctl("reset-failed", name+".service")
	b.Dockah(t, "start", name)
	if err := b.WaitUnitState(name+".service", 20*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	pid, err := b.Property(name+".service", "MainPID")
	if err != nil || pid == "0" {
		t.Fatalf("%s has no main pid (%v)", name, err)
	}
	return pid
}

// stop stops a container and forgets its result.
func stop(t *testing.T, b *box.Box, name string) {
	t.Helper()
	b.Dockah(t, "stop", name)
	_, _ = b.Systemctl("reset-failed", name+".service")
}
