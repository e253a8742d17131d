package main

import (
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procExe: no binary from outside the root may be reachable through
// /proc/PID/exe, above all dockah's init (init = true), which runs the
// host's shim binary: through /proc/self/exe a container once overwrote
// runc on the host (CVE-2019-5736). Each other process's exe is opened
// with O_PATH (the kernel checks ptrace access, which a non-dumpable init
// denies); if one opens and is not a file of the root, the probe also
// opens it for writing, never with O_TRUNC, and closes it unwritten.
func procExe(*env) outcome {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return failure("list /proc: %v", err)
	}
	var reached, refused, inside []string
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		path := "/proc/" + d.Name() + "/exe"
		fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		switch {
		case err == unix.ENOENT || err == unix.ESRCH:
			continue // gone, or a kernel thread
		case err == unix.EACCES || err == unix.EPERM:
			refused = append(refused, fmt.Sprintf("%s: %s", path, errnoName(err)))
			continue
		case err != nil:
			return failure("open(%s, O_PATH): %v", path, err)
		}
		link, _ := os.Readlink(path)
		ok := inRoot(fd, link)
		unix.Close(fd)
		if ok {
			inside = append(inside, path+" -> "+link)
			continue
		}
		reached = append(reached, fmt.Sprintf("%s -> %q, not a file of the root (open O_WRONLY: %s)", path, link, tryWrite(path)))
	}
	if len(reached) > 0 {
		return allowedBy("reached %s", strings.Join(reached, "; "))
	}
	if len(refused) == 0 && len(inside) == 0 {
		return blockedBy("no other process; /proc/self/exe is the image's own binary")
	}
	return blockedBy("refused: [%s]; files of the root: [%s]", strings.Join(refused, ", "), strings.Join(inside, ", "))
}

// inRoot reports whether the open file fd is the file named link inside
// this process's root.
func inRoot(fd int, link string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(fd, &a) != nil || unix.Stat(strings.TrimSuffix(link, " (deleted)"), &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

func tryWrite(path string) string {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errnoName(err)
	}
	unix.Close(fd)
	return "succeeded, closed without writing"
}

// procStatus is what /proc/PID/status says of a process's privileges.
type procStatus struct {
	capPrm, capEff, capBnd uint64
	seccomp, noNewPrivs    int
}

func readStatus(pid string) (procStatus, error) {
	var s procStatus
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch name {
		case "CapPrm":
			s.capPrm, _ = strconv.ParseUint(value, 16, 64)
		case "CapEff":
			s.capEff, _ = strconv.ParseUint(value, 16, 64)
		case "CapBnd":
			s.capBnd, _ = strconv.ParseUint(value, 16, 64)
		case "Seccomp":
			s.seccomp, _ = strconv.Atoi(value)
		case "NoNewPrivs":
			s.noNewPrivs, _ = strconv.Atoi(value)
		}
	}
	return s, nil
}

// pid1Privileges: the container's pid 1 must be no more privileged than
// the container. Under dockah's init (init = true) the container's
// processes share a pid namespace with it; if it kept capabilities the
// container lacks, or ran without the container's seccomp filter, any
// way to reach it (ptrace with an added SYS_PTRACE, a bug in its signal
// handling) would hand them over.
func pid1Privileges(*env) outcome {
	if os.Getpid() == 1 {
		return blockedBy("pid 1 is this process")
	}
	self, err := readStatus("self")
	if err != nil {
		return failure("read /proc/self/status: %v", err)
	}
	init, err := readStatus("1")
	if err != nil {
		return failure("read /proc/1/status: %v", err)
	}
	var more []string
	if extra := (init.capPrm | init.capEff) &^ self.capBnd; extra != 0 {
		more = append(more, fmt.Sprintf("capabilities outside the container's bounding set (mask %#x, %d of them)", extra, bits.OnesCount64(extra)))
	}
	if init.seccomp < self.seccomp {
		more = append(more, fmt.Sprintf("no seccomp filter (Seccomp: %d; the container's processes have %d)", init.seccomp, self.seccomp))
	}
	if init.noNewPrivs < self.noNewPrivs {
		more = append(more, "no no_new_privs")
	}
	if len(more) > 0 {
		return allowedBy("pid 1 (dockah's init) holds %s", strings.Join(more, "; "))
	}
	return blockedBy("pid 1 (dockah's init) has CapEff %#x, Seccomp %d, NoNewPrivs %d: no more than the container", init.capEff, init.seccomp, init.noNewPrivs)
}
