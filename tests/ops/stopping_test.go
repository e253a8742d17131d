package ops

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestStoppingIsNotFailing: a container that ends because it was asked
// to stop leaves its unit inactive, whether it exits 0 or 128+N as shells
// do; the default stop timeout is Docker's 10 s; and a pid 1 that ignores
// the stop signal is killed at the timeout with one journal line that
// suggests init = true.
func TestStoppingIsNotFailing(t *testing.T) {
	b := opsBox(t)
	for _, tc := range []struct {
		name, entrypoint, extra string
		wantResult, wantHint    string
	}{
		{name: "stop-exit143", entrypoint: `trap 'exit 143' TERM; echo stop-test-ready; sleep 100000 & wait`, wantResult: "success"},
		{name: "stop-quit", entrypoint: `trap 'exit 131' QUIT; echo stop-test-ready; sleep 100000 & wait`,
			extra: "\n[service]\nstop_signal = \"SIGQUIT\"\n", wantResult: "success"},
		{name: "stop-ignored", entrypoint: `echo stop-test-ready; exec sleep 100000`,
			extra: "\n[service]\nstop_timeout = \"2s\"\n", wantResult: "timeout", wantHint: "init = true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := "[container]\nimage = \"ops:test\"\nentrypoint = [\"/bin/sh\", \"-c\", " + quoteTOML(tc.entrypoint) + "]\n" + tc.extra
			path := "/etc/dockah/containers/" + tc.name + ".toml"
			if err := b.WriteFile(path, []byte(def), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_, _ = b.Systemctl("stop", tc.name+".service")
				_ = os.Remove(b.Path(path))
				_, _ = b.Systemctl("daemon-reload")
				_, _ = b.Systemctl("reset-failed", tc.name+".service")
			})
			if _, err := b.Systemctl("daemon-reload"); err != nil {
				t.Fatal(err)
			}
			if tc.extra == "" {
				if got, _ := b.Property(tc.name+".service", "TimeoutStopUSec"); got != "10s" {
					t.Errorf("TimeoutStopUSec = %q, want Docker's 10s", got)
				}
			}
			start(t, b, tc.name)
			if _, err := b.WaitJournal(tc.name+".service", "stop-test-ready", 20*time.Second); err != nil {
				t.Fatalf("the container did not start: %v", err)
			}
			began := time.Now()
			_, _ = b.Systemctl("stop", tc.name+".service")
			took := time.Since(began)
			result, _ := b.Property(tc.name+".service", "Result")
			state, _ := b.Property(tc.name+".service", "ActiveState")
			if result != tc.wantResult {
				t.Errorf("after the stop: Result=%s ActiveState=%s, want Result=%s", result, state, tc.wantResult)
			}
			if tc.wantResult == "success" && state != "inactive" {
				t.Errorf("after the stop: ActiveState=%s, want inactive (stopping is not failing)", state)
			}
			if tc.wantHint == "" {
				if took > 5*time.Second {
					t.Errorf("the stop took %s: the container did not end on its stop signal", took)
				}
				return
			}
			journal, err := b.Journal(tc.name + ".service")
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(journal, tc.wantHint); n != 1 {
				t.Errorf("want one journal line suggesting %q, found %d:\n%s", tc.wantHint, n, journal)
			}
		})
	}
}

// quoteTOML quotes s as a TOML basic string.
func quoteTOML(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestStopTime: dockah stop -t N kills a container that ignores its stop
// signal after N seconds, whatever its stop_timeout says.
func TestStopTime(t *testing.T) {
	b := opsBox(t)
	name := "stop-time"
	def := "[container]\nimage = \"ops:test\"\nentrypoint = [\"/bin/sh\", \"-c\", \"echo stop-test-ready; exec sleep 100000\"]\n\n[service]\nstop_timeout = \"60s\"\n"
	path := "/etc/dockah/containers/" + name + ".toml"
	if err := b.WriteFile(path, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = b.Systemctl("stop", name+".service")
		_ = os.Remove(b.Path(path))
		_, _ = b.Systemctl("daemon-reload")
		_, _ = b.Systemctl("reset-failed", name+".service")
	})
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	start(t, b, name)
	if _, err := b.WaitJournal(name+".service", "stop-test-ready", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	dockah(t, b, "stop", "-t", "1", name)
	if took := time.Since(began); took < time.Second || took > 8*time.Second {
		t.Errorf("dockah stop -t 1 took %s, want about a second (stop_timeout is 60s)", took)
	}
	if state, _ := b.Property(name+".service", "ActiveState"); state == "active" || state == "deactivating" {
		t.Errorf("after dockah stop -t 1 the container is %s", state)
	}
	r := run(t, b, "dockah", "stop", "--no-block", "-t", "1", name)
	if r.status == 0 || !strings.Contains(r.stderr, "--no-block") {
		t.Errorf("stop --no-block -t: status %d, stderr %q; want an error naming --no-block", r.status, r.stderr)
	}
}
