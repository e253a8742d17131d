//go:build amd64 || arm64

package confine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestForwarderFilter loads the forwarder's filter in a child (any user
// may, with no_new_privs) and tries what a relay does and what an
// attacker holding the forwarder would: each call must get the kernel's
// answer or the filter's EPERM (ENOSYS for clone3), and the Go runtime
// must keep running on new threads.
func TestForwarderFilter(t *testing.T) {
	c := startChild(t, "filter")
	var got map[string]string
	c.results(t, &got)
	if got["error"] != "" {
		t.Fatal(got["error"])
	}
	for call, want := range map[string]string{
		"getpid": "ok", "socket(AF_INET)": "ok", "socket(AF_INET6)": "ok",
		"socket(AF_UNIX)": "EPERM", "socket(AF_NETLINK)": "EPERM", "socket(AF_PACKET)": "EPERM",
		"openat(/)": "EPERM", "open_tree(/)": "EPERM", "mount": "EPERM", "unshare(CLONE_NEWNS)": "EPERM",
		"setns": "EPERM", "chroot": "EPERM", "execve": "EPERM", "ptrace": "EPERM",
		"kill(parent)": "EPERM", "tgkill(parent)": "EPERM", "tgkill(self)": "ok",
		"clone(process)": "EPERM", "clone3": "ENOSYS", "prctl": "EPERM", "bpf": "EPERM",
		"mmap(PROT_EXEC)": "EPERM", "mmap(PROT_READ)": "ok", "mprotect(PROT_EXEC)": "EPERM",
		"keyctl": "EPERM", "io_uring_setup": "EPERM", "pidfd_open(self)": "ok",
		"threads": "ok", "splice": "ok",
	} {
		if got[call] != want {
			t.Errorf("%s: %q, want %q", call, got[call], want)
		}
	}
	// The filter is on every thread. A thread whose locked goroutine
	// ended may go between the listing and the read of its status.
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/task/*/status")
	checked := 0
	for _, task := range tasks {
		data, err := os.ReadFile(task)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		st := statusFields(data)
		if st["Seccomp"] != "2" || st["NoNewPrivs"] != "1" {
			t.Errorf("%s: Seccomp %s, NoNewPrivs %s", task, st["Seccomp"], st["NoNewPrivs"])
		}
		checked++
	}
	if checked < 2 {
		t.Errorf("%d threads checked, of %d listed", checked, len(tasks))
	}
	if err := c.end(); err != nil {
		t.Errorf("child: %v", err)
	}
}

// filterChild is TestForwarderFilter's child.
func filterChild() {
	got := map[string]string{}
	// More threads first, the filter must reach them.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			time.Sleep(10 * time.Millisecond)
		}()
	}
	block := make(chan struct{})
	go func() { runtime.LockOSThread(); <-block }()
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		report(map[string]string{"error": err.Error()})
	}
	prog, err := forwarderFilter(os.Getpid())
	if err == nil {
		err = loadFilter(prog)
	}
	if err != nil {
		report(map[string]string{"error": err.Error()})
	}
	wg.Wait()
	result := func(call string, err error) {
		switch {
		case err == nil:
			got[call] = "ok"
		default:
			got[call] = unix.ErrnoName(err.(unix.Errno))
		}
	}
	sys := func(call string, nr uintptr, args ...uintptr) {
		a := make([]uintptr, 6)
		copy(a, args)
		_, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
		if e == 0 {
			result(call, nil)
		} else {
			result(call, e)
		}
	}
	closeIfOK := func(call string, fd int, err error) {
		if err == nil {
			unix.Close(fd)
		}
		result(call, err)
	}
	ppid := os.Getppid()
	sys("getpid", unix.SYS_GETPID)
	for name, family := range map[string]int{"AF_INET": unix.AF_INET, "AF_INET6": unix.AF_INET6, "AF_UNIX": unix.AF_UNIX, "AF_NETLINK": unix.AF_NETLINK, "AF_PACKET": unix.AF_PACKET} {
		fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		closeIfOK("socket("+name+")", fd, err)
	}
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	closeIfOK("openat(/)", fd, err)
	fd, err = unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLOEXEC)
	closeIfOK("open_tree(/)", fd, err)
	// Each call, were it let through, fails harmlessly in the kernel
	// with another error (no such path, process or address).
	result("mount", unix.Mount("none", "/nonexistent/dockah", "tmpfs", 0, ""))
	result("unshare(CLONE_NEWNS)", unix.Unshare(unix.CLONE_NEWNS))
	sys("setns", unix.SYS_SETNS, ^uintptr(0), 0)
	result("chroot", unix.Chroot("/"))
	sys("execve", unix.SYS_EXECVE, 0, 0, 0)
	sys("ptrace", unix.SYS_PTRACE, unix.PTRACE_ATTACH, 1<<30)
	sys("kill(parent)", unix.SYS_KILL, uintptr(ppid), 0)
	sys("tgkill(parent)", unix.SYS_TGKILL, uintptr(ppid), uintptr(ppid), 0)
	sys("tgkill(self)", unix.SYS_TGKILL, uintptr(os.Getpid()), uintptr(unix.Gettid()), 0)
	// CLONE_SIGHAND without CLONE_VM: the kernel's EINVAL if the filter
	// let it through, so nothing is ever cloned.
	sys("clone(process)", unix.SYS_CLONE, unix.CLONE_SIGHAND)
	sys("clone3", unix.SYS_CLONE3, 0, 0)
	sys("prctl", unix.SYS_PRCTL, unix.PR_GET_DUMPABLE)
	sys("bpf", unix.SYS_BPF, 0, 0, 0)
	sys("keyctl", unix.SYS_KEYCTL, 0)
	sys("io_uring_setup", unix.SYS_IO_URING_SETUP, 1, 0)
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err == nil {
		unix.Munmap(mem)
	}
	result("mmap(PROT_EXEC)", err)
	mem, err = unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	result("mmap(PROT_READ)", err)
	if err == nil {
		result("mprotect(PROT_EXEC)", unix.Mprotect(mem, unix.PROT_READ|unix.PROT_EXEC))
		unix.Munmap(mem)
	}
	fd, err = unix.PidfdOpen(os.Getpid(), 0)
	closeIfOK("pidfd_open(self)", fd, err)
	// What a relay does: a pipe, a splice through it.
	var p [2]int
	err = unix.Pipe2(p[:], unix.O_CLOEXEC)
	if err == nil {
		var q [2]int
		if err = unix.Pipe2(q[:], unix.O_CLOEXEC); err == nil {
			_, err = unix.Write(p[1], []byte("x"))
			if err == nil {
				_, err = unix.Splice(p[0], nil, q[1], nil, 1, 0)
			}
			unix.Close(q[0])
			unix.Close(q[1])
		}
		unix.Close(p[0])
		unix.Close(p[1])
	}
	result("splice", err)
	// New threads, and the garbage collector.
	var n sync.WaitGroup
	for range 8 {
		n.Add(1)
		go func() {
			defer n.Done()
			runtime.LockOSThread()
			_ = make([]byte, 1<<20)
			runtime.GC()
		}()
	}
	n.Wait()
	got["threads"] = "ok"
	report(got)
}
