package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// childArg makes the probe act as a helper process (see runChild).
const childArg = "-child"

// runChild is the probe re-executed as a helper:
//
//   - "noop" exits at once: the unshare attempts happen in the helper
//     between fork and exec, because unshare(CLONE_NEWUSER) refuses a
//     multithreaded caller and a Go program always is one;
//   - "ptrace PID" seizes PID and prints the errno (0 for success), then
//     exits, which detaches. PTRACE_SEIZE, unlike PTRACE_ATTACH, does not
//     stop the tracee, so a probe that is itself pid 1 cannot be left
//     stopped.
func runChild(args []string) int {
	if len(args) == 2 && args[0] == "ptrace" {
		pid, err := strconv.Atoi(args[1])
		if err != nil {
			return 2
		}
		// ptrace requests belong to the thread that made them.
		runtime.LockOSThread()
		var e unix.Errno
		if err := unix.PtraceSeize(pid); err != nil && !errors.As(err, &e) {
			e = unix.EINVAL
		}
		fmt.Print(int(e))
		return 0
	}
	if len(args) == 1 && args[0] == "noop" {
		return 0
	}
	fmt.Fprintf(os.Stderr, "attack: unknown helper %q\n", args)
	return 2
}

// helper runs the probe as a helper process with sys and returns its
// output; it is killed if it outlives the attempt's deadline.
func helper(sys *syscall.SysProcAttr, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout-2*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe", append([]string{childArg}, args...)...)
	cmd.SysProcAttr = sys
	cmd.Env = []string{}
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func unshareUser(*env) outcome {
	return unshareInHelper("unshare(CLONE_NEWUSER) in a child", unix.CLONE_NEWUSER)
}

func unshareMount(*env) outcome {
	return unshareInHelper("unshare(CLONE_NEWNS) in a child", unix.CLONE_NEWNS)
}

// unshareInHelper starts a helper that calls unshare(flag) between fork
// and exec; exec.Cmd reports the errno of a failed unshare as the error
// of Start.
func unshareInHelper(what string, flag uintptr) outcome {
	_, err := helper(&syscall.SysProcAttr{Unshareflags: flag}, "noop")
	var e unix.Errno
	if err != nil && !errors.As(err, &e) {
		return failure("%s: %v", what, err)
	}
	return classify(what, err)
}

// ptracePID1 seizes the container's pid 1 from a child: the probe itself
// when it is pid 1, dockah's init when the definition sets init = true.
func ptracePID1(*env) outcome {
	who := "pid 1 (the probe itself)"
	if os.Getpid() != 1 {
		who = "pid 1 (dockah's init)"
	}
	out, err := helper(nil, "ptrace", "1")
	if err != nil {
		return failure("ptrace helper: %v", err)
	}
	n, err := strconv.Atoi(out)
	if err != nil {
		return failure("ptrace helper said %q", out)
	}
	return classify("PTRACE_SEIZE of "+who+" from a child", syscallErr(unix.Errno(n)))
}
