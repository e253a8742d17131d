package ops

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestCommitRefusals: dockah commit refuses a container that runs (dockah
// does not pause it) unless forced, and says plainly that a container with
// read_only = true has nothing to commit.
func TestCommitRefusals(t *testing.T) {
	b := opsBox(t)
	t.Run("running", func(t *testing.T) {
		start(t, b, "sleeper")
		defer stop(t, b, "sleeper")
		oneLineError(t, run(t, b, "dockah", "commit", "sleeper", "sleeper:running"),
			"commit sleeper: sleeper.service is active, and dockah does not pause it")
		if r := run(t, b, "dockah", "image", "inspect", "sleeper:running"); r.status == 0 {
			t.Errorf("a refused commit named sleeper:running")
		}
		r := run(t, b, "dockah", "commit", "--force", "sleeper", "sleeper:running")
		defer run(t, b, "dockah", "image", "rm", "sleeper:running")
		if r.status != 0 || !strings.HasPrefix(r.stdout, "sha256:") {
			t.Fatalf("commit --force: status %d\n%s%s", r.status, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "dockah: warning: sleeper.service is active") {
			t.Errorf("commit --force of a running container warns of nothing:\n%s", r.stderr)
		}
	})
	t.Run("stopped", func(t *testing.T) {
		stop(t, b, "sleeper")
		r := run(t, b, "dockah", "commit", "sleeper", "sleeper:stopped")
		defer run(t, b, "dockah", "image", "rm", "sleeper:stopped")
		if r.status != 0 || strings.Contains(r.stderr, "warning") {
			t.Errorf("commit of a stopped container: status %d\n%s%s", r.status, r.stdout, r.stderr)
		}
	})
	t.Run("read_only", func(t *testing.T) {
		const name = "commit-ro"
		path := "/etc/dockah/containers/" + name + ".toml"
		t.Cleanup(func() {
			_, _ = b.Systemctl("stop", name+".service")
			_ = os.Remove(b.Path(path))
			_, _ = b.Systemctl("daemon-reload")
			_, _ = b.Systemctl("reset-failed", name+".service")
		})
		define(t, b, path, `[container]
image = "ops:test"
entrypoint = ["/bin/sh", "-c", "trap 'exit 0' TERM; echo ro-ready; sleep 100000 & wait"]
read_only = true
`)
		start(t, b, name)
		if _, err := b.WaitJournal(name+".service", "ro-ready", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		stop(t, b, name)
		oneLineError(t, run(t, b, "dockah", "commit", name, name+":snapshot"),
			"container "+name+" has no writable layer: it runs with read_only = true; nothing to commit")
	})
}
