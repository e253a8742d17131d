package ops

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestPsShowsExitStatus: dockah ps -a shows how a failed container ended,
// in the table and as JSON.
func TestPsShowsExitStatus(t *testing.T) {
	b := opsBox(t)
	name := "ps-exit3"
	path := "/etc/dockah/containers/" + name + ".toml"
	def := "[container]\nimage = \"ops:test\"\nentrypoint = [\"/bin/sh\", \"-c\", \"exit 3\"]\n"
	if err := b.WriteFile(path, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.Remove(b.Path(path))
		_, _ = b.Systemctl("daemon-reload")
		_, _ = b.Systemctl("reset-failed", name+".service")
	})
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	_, _ = b.Systemctl("start", name+".service")
	if err := b.WaitUnitState(name+".service", 20*time.Second, "failed"); err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(dockah(t, b, "ps", "-a"), "\n") {
		if strings.HasPrefix(l, name+" ") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) < 2 || f[1] != "failed" || !strings.HasSuffix(line, "exited 3") {
		t.Errorf("dockah ps -a shows %q, want state failed and last exit \"exited 3\"", line)
	}
	e := psJSON(t, b, "-a")[name]
	if e.Exit == nil || e.Exit.How != "exited" || e.Exit.Status != 3 || e.Exit.Result != "exit-code" {
		t.Errorf("dockah ps -a --format json: exit %+v, want exited 3 with result exit-code", e.Exit)
	}
}

// TestPsShowsACleanStop: a container stopped cleanly, whose unit systemd
// has unloaded with how it ended, still shows its last exit in ps -a,
// from the shim's stop record in the journal.
func TestPsShowsACleanStop(t *testing.T) {
	b := opsBox(t)
	name := "ps-clean"
	path := "/etc/dockah/containers/" + name + ".toml"
	def := "[container]\nimage = \"ops:test\"\nentrypoint = [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n"
	if err := b.WriteFile(path, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.Remove(b.Path(path))
		_, _ = b.Systemctl("daemon-reload")
	})
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("start", name+".service"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("stop", name+".service"); err != nil {
		t.Fatal(err)
	}
	if load, _ := b.Property(name+".service", "ExecMainExitTimestampMonotonic"); load != "0" && load != "" {
		t.Logf("systemd still knows the exit (ExecMainExitTimestampMonotonic=%s); the journal is the fallback", load)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e := psJSON(t, b, "-a")[name]
		if e.Exit != nil {
			if e.Exit.How != "exited" || e.Exit.Status != 0 || e.Exit.Result != "success" {
				t.Errorf("ps -a: exit %+v, want exited 0, success", e.Exit)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ps -a shows no last exit for %s after a clean stop: %+v", name, e)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
