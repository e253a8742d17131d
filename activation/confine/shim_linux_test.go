package confine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation/mountinfo"
)

// testOptions are a shim's sandbox around a store and a writable volume
// in dir, with the hidden, private and masked paths of a default
// definition (unitgen's ShimSandbox).
func testOptions(dir string) ShimOptions {
	return ShimOptions{
		Store:    filepath.Join(dir, "store"),
		Writable: []string{filepath.Join(dir, "volume")},
		Hidden:   []string{"/home", "/root", "/run/user", "/usr/lib/modules", "/lib/modules"},
		Private:  []string{"/tmp", "/var/tmp"},
		Masked:   []string{"/proc/kmsg", "/dev/kmsg"},
	}
}

// onOwnMountNS runs fn on a thread in a mount namespace of its own, a
// slave of the caller's, as the constructor makes the shim's: the host
// sees nothing of what fn mounts. The thread ends with it.
func onOwnMountNS(t testing.TB, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			done <- err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}

// checkConfined checks, on the calling thread, what the shim's sandbox
// promises (docs/security.md, "The shim's own sandbox"), and returns what
// is wrong. It writes only into the store, the volume and the private
// /tmp, which exist only in the namespace once confined.
func checkConfined(o ShimOptions) []string {
	var wrong []string
	bad := func(format string, args ...any) { wrong = append(wrong, fmt.Sprintf(format, args...)) }
	for _, p := range []string{"/usr", "/etc", "/", "/var/lib", "/proc/sys/kernel/hostname", "/sys/kernel", "/sys/fs/cgroup", "/dev", "/run"} {
		if err := unix.Access(p, unix.W_OK); !errors.Is(err, unix.EROFS) {
			bad("%s writable (access: %v), want read-only", p, err)
		}
	}
	for _, p := range []string{o.Store, o.Writable[0]} {
		f := filepath.Join(p, "written")
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			bad("%s not writable: %v", p, err)
		}
		os.Remove(f)
	}
	for _, d := range []string{"/home", "/root", "/usr/lib/modules"} {
		if _, err := os.Stat(d); err != nil {
			continue
		}
		if entries, err := os.ReadDir(d); err != nil || len(entries) != 0 {
			bad("%s holds %d entries (%v), want none", d, len(entries), err)
		}
	}
	for _, d := range []string{"/tmp", "/var/tmp"} {
		entries, err := os.ReadDir(d)
		if err != nil || len(entries) != 0 {
			bad("%s holds %d entries (%v), want a fresh one", d, len(entries), err)
		}
		if err := os.WriteFile(filepath.Join(d, "written"), nil, 0o600); err != nil {
			bad("%s not writable: %v", d, err)
		}
	}
	// Device nodes still work; the kernel's log is /dev/null.
	if f, err := os.OpenFile("/dev/null", os.O_WRONLY, 0); err != nil {
		bad("open /dev/null: %v", err)
	} else {
		f.Close()
	}
	var st unix.Stat_t
	// In a container (the systemd box) /proc/kmsg may be another
	// file already, over which nothing can be mounted.
	if err := unix.Stat("/proc/kmsg", &st); err != nil || (st.Rdev != unix.Mkdev(1, 3) && st.Mode&unix.S_IFMT == unix.S_IFREG) {
		bad("/proc/kmsg is not /dev/null: %v", err)
	}
	// Every mount is nosuid, and nodev but under /dev; read-only but
	// the kept and private ones.
	mounts, err := os.ReadFile("/proc/thread-self/mountinfo")
	if err != nil {
		bad("%v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(mounts)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		point, opts := mountinfo.Unescape(f[4]), strings.Split(f[5], ",")
		has := func(o string) bool { return strings.Contains(","+f[5]+",", ","+o+",") }
		kept := under(point, o.Store) || under(point, o.Writable[0]) || under(point, "/tmp") || under(point, "/var/tmp") || under(point, "/sys/fs/selinux")
		masked := slices.Contains(o.Masked, point) // /dev/null
		if !kept && !has("ro") {
			bad("%s is %v, want ro", point, opts)
		}
		if !kept && !has("nosuid") {
			bad("%s is %v, want nosuid", point, opts)
		}
		if !kept && !masked && !under(point, "/dev") && !has("nodev") {
			bad("%s is %v, want nodev", point, opts)
		}
	}
	return wrong
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// testDir is a directory for a test's store and volume, outside /tmp,
// which the shim's sandbox replaces: under /run, a tmpfs.
func testDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/run", "dockah-confine-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestShimMounts confines a thread as the shim confines itself and checks
// from inside what the mount-namespace directives of systemd promised.
func TestShimMounts(t *testing.T) {
	requireRoot(t)
	o := testOptions(testDir(t))
	if err := os.Mkdir(o.Writable[0], 0o755); err != nil {
		t.Fatal(err)
	}
	var wrong []string
	err := onOwnMountNS(t, func() error {
		if err := confineMounts(o); err != nil {
			return err
		}
		wrong = checkConfined(o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wrong {
		t.Error(w)
	}
	// The host's /tmp is untouched.
	if _, err := os.Stat("/tmp/written"); err == nil {
		t.Error("the private /tmp was the host's")
	}
}

// TestShimProcess runs the shim's confinement as the shim does: the
// constructor gives the process its namespace before Go's first thread,
// and Shim confines it; every thread sees the result.
func TestShimProcess(t *testing.T) {
	requireRoot(t)
	dir := testDir(t)
	if err := os.Mkdir(filepath.Join(dir, "volume"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, "shim", "_DOCKAH_CONFINE=shim", "CONFINE_TEST_DIR="+dir)
	var wrong []string
	c.results(t, &wrong)
	for _, w := range wrong {
		t.Error(w)
	}
	own, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", c.cmd.Process.Pid))
	host, _ := os.Readlink("/proc/self/ns/mnt")
	if own == host || own == "" {
		t.Errorf("the child's mount namespace %q is the host's %q", own, host)
	}
	if err := c.end(); err != nil {
		t.Error(err)
	}
	// Without the constructor, Shim refuses.
	if err := Shim(testOptions(dir)); err == nil {
		t.Error("Shim confined a process the constructor did not prepare")
	}
}

// shimChild is TestShimProcess's child: it confines itself with Shim and
// checks from goroutines on threads of their own.
func shimChild() {
	o := testOptions(os.Getenv("CONFINE_TEST_DIR"))
	if err := Shim(o); err != nil {
		report([]string{err.Error()})
	}
	var wrong []string
	for range 3 {
		done := make(chan []string)
		go func() {
			// A thread of its own, which ends with the goroutine.
			runtime.LockOSThread()
			done <- checkConfined(o)
		}()
		wrong = append(wrong, <-done...)
		// What the last check wrote in the private /tmp.
		os.Remove("/tmp/written")
		os.Remove("/var/tmp/written")
	}
	report(wrong)
}

// BenchmarkShim measures the shim's confinement: a new mount namespace
// (the constructor's part) and Shim's, with a store and a volume.
func BenchmarkShim(b *testing.B) {
	requireRoot(b)
	o := testOptions(testDir(b))
	if err := os.Mkdir(o.Writable[0], 0o755); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := onOwnMountNS(b, func() error { return confineMounts(o) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMountNamespace is the part of BenchmarkShim that is only the
// new mount namespace, for comparison.
func BenchmarkMountNamespace(b *testing.B) {
	requireRoot(b)
	for b.Loop() {
		if err := onOwnMountNS(b, func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
