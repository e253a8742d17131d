// Package testenv gates tests on what the machine offers (root, commands,
// kernel features) and makes every skip say what is missing. With
// DOCKAH_TEST_STRICT=1, which CI sets, a skip is a failure instead, so
// nothing is skipped there by accident. It also holds the few helpers
// tests of several packages share.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// StrictEnv is the environment variable that turns skips into failures.
const StrictEnv = "DOCKAH_TEST_STRICT"

// Strict reports whether missing capabilities must fail tests.
func Strict() bool { return os.Getenv(StrictEnv) == "1" }

// Skip skips the test with reason, or fails it in strict mode.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if Strict() {
		t.Fatalf("%s (%s=1 forbids skipping)", reason, StrictEnv)
	}
	t.Skip(reason)
}

// RequireRoot skips unless the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root")
	}
}

// RequireCommand skips unless every named command is on PATH.
func RequireCommand(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			Skip(t, "needs the command "+name+" on PATH")
		}
	}
}

// AllAtOnce runs f(0) to f(n-1) concurrently, as n clients arriving
// together, and reports every error they return as a test error.
func AllAtOnce(t testing.TB, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BusyboxImage builds a one-layer image holding busybox in a temporary
// directory, for tests that start containers without an image store: the
// layer is lower, under store, the directory that stands in for the store.
// Its /etc/passwd and /etc/group know root and web (uid 1000, also in
// group extra, 2000). It skips unless the test runs as root with busybox.
func BusyboxImage(t testing.TB) (lower, store string) {
	t.Helper()
	RequireRoot(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		Skip(t, "needs busybox (Debian package busybox-static)")
	}
	store = t.TempDir()
	lower = filepath.Join(store, "layer")
	if err := os.MkdirAll(filepath.Join(lower, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lower, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "cat", "ls", "id", "hostname", "grep", "ip", "mount", "touch", "echo", "readlink", "sleep", "env", "sort", "head", "wc"} {
		if err := os.Symlink("busybox", filepath.Join(lower, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(lower, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000:web:/home/web:/bin/sh\n"
	group := "root:x:0:\nweb:x:1000:\nextra:x:2000:web\n"
	for name, text := range map[string]string{"etc/passwd": passwd, "etc/group": group} {
		if err := os.WriteFile(filepath.Join(lower, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return lower, store
}
