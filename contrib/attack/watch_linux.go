package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// watchExe is CVE-2019-5736's race, against "dockah exec": the command
// of an exec starts as a copy of the host's shim binary, forked into the
// container's pid namespace, and execs the command a moment later. In
// between, /proc/PID/exe of the new process is the host's binary; a
// container that opens it then holds it, and can open it for writing
// once nothing runs it any more.
//
// The watcher spins on /proc/sys/kernel/ns_last_pid, the pid the
// container's pid namespace handed out last, and opens /proc/PID/exe of
// it with O_PATH the moment it changes: a process forked by an exec is
// that pid until its command runs. A process caught before its exec is
// either refused (EACCES: it is not dumpable and the container lacks
// CAP_SYS_PTRACE) or reached; one first seen after its exec shows the
// image's binary and proves nothing (threads of a command, which take
// pids too, are left out). It stops after count processes or when d has
// passed, then tries to reopen what it reached for writing, and closes
// it unwritten.
func watchExe(d time.Duration, count int) report {
	last, err := unix.Open("/proc/sys/kernel/ns_last_pid", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		o := failure("open ns_last_pid: %v", err)
		return report{Attack: "exec-window-exe", Result: o.verdict, Detail: o.detail}
	}
	defer unix.Close(last)
	mine := lastPID(last) // pids up to here are not an exec's
	deadline := time.Now().Add(d)
	decided := map[int]bool{}
	var refused, sealed, late int
	var held []int
	var reached []string
	for refused+sealed+late+len(reached) < count && time.Now().Before(deadline) {
		n := lastPID(last)
		if n <= mine || decided[n] {
			continue
		}
		path := "/proc/" + strconv.Itoa(n) + "/exe"
		fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		switch {
		case err == unix.EACCES || err == unix.EPERM:
			refused++
		case err != nil:
			continue // not there yet, or gone
		default:
			// What the fd holds, whatever the process did since.
			link, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			if sealedCopy(fd, link) {
				// A sealed in-memory copy of the shim: holding it
				// reaches nothing on the host, and it cannot be written.
				unix.Close(fd)
				sealed++
				break
			}
			if !inRoot(fd, link) {
				held = append(held, fd)
				reached = append(reached, fmt.Sprintf("pid %d -> %q", n, link))
				break
			}
			unix.Close(fd)
			if !isProcess(n) {
				decided[n] = true // a thread: not counted
				continue
			}
			late++
		}
		decided[n] = true
	}
	o := exeWindowOutcome(refused, sealed, late, reached, held)
	return report{Attack: "exec-window-exe", Allowed: o.verdict == allowed, Result: o.verdict, Detail: o.detail}
}

// sealedCopy reports whether the O_PATH fd is a memfd sealed against
// writing, as runc and dockah run their helpers from.
func sealedCopy(fd int, link string) bool {
	if !strings.HasPrefix(link, "/memfd:") {
		return false
	}
	rd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(rd)
	seals, err := unix.FcntlInt(uintptr(rd), unix.F_GET_SEALS, 0)
	return err == nil && seals&(unix.F_SEAL_WRITE|unix.F_SEAL_FUTURE_WRITE) != 0
}

// lastPID reads ns_last_pid through the open fd.
func lastPID(fd int) int {
	var buf [16]byte
	n, err := unix.Pread(fd, buf[:], 0)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	return pid
}

// isProcess reports whether n is a thread group's leader, not a thread.
func isProcess(n int) bool {
	s, err := os.ReadFile("/proc/" + strconv.Itoa(n) + "/status")
	if err != nil {
		return false
	}
	return strings.Contains(string(s), "\nTgid:\t"+strconv.Itoa(n)+"\n")
}

func exeWindowOutcome(refused, sealed, late int, reached []string, held []int) outcome {
	counts := fmt.Sprintf("%d caught before exec and refused, %d caught with only a sealed copy to hold, %d reached, %d seen only after exec", refused, sealed, len(reached), late)
	if len(reached) > 0 {
		// Wait for the execs' helpers to end, then do what the exploit
		// does: reopen the held binary for writing.
		time.Sleep(500 * time.Millisecond)
		var writes []string
		for _, fd := range held {
			writes = append(writes, tryWrite("/proc/self/fd/"+strconv.Itoa(fd)))
			unix.Close(fd)
		}
		return allowedBy("%s: %s; reopened for writing afterwards: %s", counts, reached[0], strings.Join(writes, ", "))
	}
	if refused+sealed > 0 {
		return blockedBy("%s", counts)
	}
	return failure("%s: no process caught before its exec, so the probe cannot tell", counts)
}
