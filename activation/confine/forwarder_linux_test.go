//go:build cgo && (amd64 || arm64)

package confine

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestForwarderProcess starts the test binary as a forwarder and looks at
// it from outside, as tests/confine does at the real one: the network
// namespace it was given, an empty root, no capability in any set of any
// thread, no_new_privs, the seccomp filter, and the files in place.
func TestForwarderProcess(t *testing.T) {
	requireRoot(t)
	netns := newNetNS(t)
	defer netns.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lf, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	fp, err := StartForwarder(netns, []*os.File{lf}, os.Stderr, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Cmd.Wait()
	defer fp.Control.Close()
	buf := make([]byte, 4096)
	n, err := fp.Control.Read(buf)
	if err != nil || string(buf[:n]) != "confined" {
		t.Fatalf("forwarder: %q, %v", buf[:n], err)
	}
	pid := strconv.Itoa(fp.Cmd.Process.Pid)
	tasks, _ := filepath.Glob("/proc/" + pid + "/task/*/status")
	for _, task := range tasks {
		st := procStatus(t, task)
		for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
			if st[set] != "0000000000000000" {
				t.Errorf("%s: %s %s", task, set, st[set])
			}
		}
		if st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" {
			t.Errorf("%s: NoNewPrivs %s, Seccomp %s", task, st["NoNewPrivs"], st["Seccomp"])
		}
	}
	entries, err := os.ReadDir("/proc/" + pid + "/root")
	if err != nil || len(entries) != 0 {
		t.Errorf("its root holds %v (%v)", entries, err)
	}
	if !sameNS(t, "/proc/"+pid+"/ns/net", netns) {
		t.Error("not in the network namespace it was given")
	}
	if link, _ := os.Readlink("/proc/" + pid + "/fd/5"); link == "" {
		t.Error("no fd 5: the listener")
	}
	if _, err := fp.Control.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
}

// forwarderChild is TestForwarderProcess's forwarder.
func forwarderChild() {
	control, files, err := Forwarder()
	if err != nil {
		os.Stderr.WriteString("forwarder: " + err.Error() + "\n")
		os.Exit(1)
	}
	if len(files) != 1 {
		os.Exit(2)
	}
	control.Write([]byte("confined"))
	buf := make([]byte, 16)
	control.Read(buf)
	os.Exit(0)
}

// newNetNS returns a new network namespace.
func newNetNS(t *testing.T) *os.File {
	t.Helper()
	done := make(chan *os.File)
	go func() {
		// The thread is left in the namespace and ends with the
		// goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Error(err)
			done <- nil
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			t.Error(err)
		}
		done <- f
	}()
	f := <-done
	if f == nil {
		t.FailNow()
	}
	return f
}

func sameNS(t *testing.T, path string, ns *os.File) bool {
	t.Helper()
	var a, b unix.Stat_t
	if err := unix.Stat(path, &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(int(ns.Fd()), &b); err != nil {
		t.Fatal(err)
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}
