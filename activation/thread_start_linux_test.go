package activation

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// threadStart returns a config and a pipe for its output, and skips when
// this test binary starts containers through the stage only.
func threadStart(t *testing.T, args ...string) (*Config, *os.File, *os.File) {
	t.Helper()
	if !spawnAvailable || os.Getenv(stageProcessEnv) == "1" {
		t.Skip("this run starts containers through the setup stage")
	}
	cfg := testConfig(t, args...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	if !canStartOnThread(cfg, StartOptions{Stdout: w, Stderr: w}) {
		t.Fatal("the test configuration does not take the thread start")
	}
	return cfg, r, w
}

func TestThreadStartHoldsEntrypointUntilBeforeExec(t *testing.T) {
	cfg, r, w := threadStart(t, "/bin/sh", "-c", "echo ran; exit 4")
	marker := filepath.Join(t.TempDir(), "before-exec")
	c, err := Start(cfg, StartOptions{Stdout: w, Stderr: w, BeforeExec: func() error {
		// The host's file system, not the container's root.
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			return err
		}
		// The entrypoint has not run yet.
		_ = r.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := r.Read(make([]byte, 16)); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return errors.New("the entrypoint ran before BeforeExec returned")
		}
		return nil
	}})
	w.Close()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	status, err := c.Wait()
	if err != nil || status != 4 {
		t.Fatalf("exit status %d, %v; want 4", status, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("BeforeExec did not write on the host: %v", err)
	}
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(r)
	if string(out) != "ran\n" {
		t.Errorf("output %q, want the entrypoint's", out)
	}
}

func TestThreadStartBeforeExecErrorEndsContainer(t *testing.T) {
	cfg, r, w := threadStart(t, "/bin/sh", "-c", "echo ran")
	_, err := Start(cfg, StartOptions{Stdout: w, Stderr: w, BeforeExec: func() error {
		return errors.New("systemd said no")
	}})
	w.Close()
	if err == nil || !strings.Contains(err.Error(), "systemd said no") {
		t.Fatalf("start: %v, want the BeforeExec error", err)
	}
	entrypointDidNotRun(t, r, " after BeforeExec failed")
}

func TestThreadStartReportsChildFailure(t *testing.T) {
	// A soft limit above the hard one: setrlimit fails in the child,
	// after the clone, where only system calls run.
	cfg, r, w := threadStart(t, "/bin/sh", "-c", "echo ran")
	cfg.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2048, Hard: 1024}}
	_, err := Start(cfg, StartOptions{Stdout: w, Stderr: w})
	w.Close()
	if err == nil || !strings.Contains(err.Error(), "set a resource limit: invalid argument") {
		t.Fatalf("start: %v, want the child's failing step and its error", err)
	}
	entrypointDidNotRun(t, r, "")
}

// entrypointDidNotRun fails the test if the entrypoint wrote anything to r
// (the write ends are closed) within five seconds.
func entrypointDidNotRun(t *testing.T, r *os.File, when string) {
	t.Helper()
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if out, _ := io.ReadAll(r); len(out) > 0 {
		t.Errorf("the entrypoint ran%s: %q", when, out)
	}
}

func TestChildReport(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"X", "X"},
		{"Eset a resource limit\x0022", "Eset a resource limit: invalid argument"},
		{"XE/bin/app\x002", "XE/bin/app: no such file or directory"},
		{"Eno number\x00", "Eno number\x00"},
		{"", ""},
	} {
		if got := string(childReport([]byte(tc.in))); got != tc.want {
			t.Errorf("childReport(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestThreadStartLeavesProcessNamespacesAlone(t *testing.T) {
	cfg, _, w := threadStart(t, "/bin/sh", "-c", "exit 0")
	before := namespaceLinks(t)
	c, err := Start(cfg, StartOptions{Stdout: w, Stderr: w})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if _, err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	// Neither the process (its main thread) nor the calling thread
	// moved into the container's namespaces or root.
	if after := namespaceLinks(t); after != before {
		t.Errorf("namespaces and root changed:\n%s\nto\n%s", before, after)
	}
}

func namespaceLinks(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, dir := range []string{"/proc/self", "/proc/thread-self"} {
		for _, ns := range []string{"ns/mnt", "ns/net", "ns/uts", "ns/pid_for_children", "root", "cwd"} {
			link, err := os.Readlink(filepath.Join(dir, ns))
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(dir + "/" + ns + " " + link + "\n")
		}
	}
	return b.String()
}

// TestCanStartOnThread: which configurations the thread start serves. A
// user namespace can only be built there (Start refuses it otherwise), so
// everything a default container may ask for must be in this table.
func TestCanStartOnThread(t *testing.T) {
	if !spawnAvailable || os.Getenv(stageProcessEnv) == "1" {
		t.Skip("this run starts containers through the setup stage")
	}
	userns := &IDMapping{UID: 1000000, GID: 1000000, Size: 65536}
	for _, tt := range []struct {
		name string
		edit func(*Config)
		want bool
	}{
		{"default", func(*Config) {}, true},
		{"SELinux label", func(c *Config) { c.Spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2" }, true},
		{"SELinux label and user namespace", func(c *Config) {
			c.Spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
			c.UserNS = userns
		}, true},
		{"init, user namespace", func(c *Config) { c.Init, c.UserNS = true, userns }, true},
		{"init, host IDs", func(c *Config) { c.Init = true }, false},
		{"a mount under /proc", func(c *Config) {
			c.Spec.Mounts = append(c.Spec.Mounts, specs.Mount{Destination: "/proc/x", Type: "bind", Source: "/tmp"})
		}, false},
	} {
		cfg := testConfig(t, "/bin/true")
		tt.edit(cfg)
		if got := canStartOnThread(cfg, StartOptions{}); got != tt.want {
			t.Errorf("%s: canStartOnThread = %v, want %v", tt.name, got, tt.want)
		}
	}
}
