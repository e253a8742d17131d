package main

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The attacks that tell a container with a user namespace of its own
// (userns = "auto") from one in the host's: root in the container is an
// unprivileged host user, whatever capabilities it holds in its own
// namespace.

// HostRootFile is where the tests bind, with the host's IDs as they are
// ([[volume]] idmap = false), a directory holding a file owned by host
// root (mode 0644): hostroot-volume-write tries to open it for writing.
const HostRootFile = "/hostroot/owned-by-host-root"

// leakedPIDEnv names the environment variable a test puts a host pid in
// (the box's systemd, say), as if it had leaked into the container.
const leakedPIDEnv = "ATTACK_LEAKED_PID"

// hostRootVolumeWrite: a file owned by host root reachable through a
// volume. Host root's files are writable to a container's root in the
// host's user namespace (CAP_DAC_OVERRIDE); in its own, host root is an
// ID it does not map, and its capabilities do not apply.
func hostRootVolumeWrite(e *env) outcome {
	if _, err := os.Lstat(HostRootFile); err != nil {
		return outcome{absent, HostRootFile + ": no such volume in this container"}
	}
	return writeFile(HostRootFile)(e)
}

// procHostRootWrite: /proc/sys/kernel/core_pattern is host root's (0644),
// and runs a program as host root on every crash. Its read-only mount is
// first remounted read-write, which a container holding CAP_SYS_ADMIN may
// do to a mount of its own namespace; the file's owner must still stop it.
func procHostRootWrite(e *env) outcome {
	const dir, file = "/proc/sys", "/proc/sys/kernel/core_pattern"
	_ = unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	return writeFile(file)(e)
}

// ptraceLeakedPID: a host pid the container learnt (from an environment
// variable, a log line) must not name a host process it can trace: the
// pid namespace gives it another meaning or none.
func ptraceLeakedPID(*env) outcome {
	pid, err := strconv.Atoi(os.Getenv(leakedPIDEnv))
	if err != nil || pid <= 1 {
		return outcome{absent, leakedPIDEnv + " is not set: no pid leaked to this container"}
	}
	err = unix.PtraceAttach(pid)
	if err == unix.ESRCH {
		return blockedBy("ptrace(PTRACE_ATTACH, %d): ESRCH: no such process in the container's pid namespace", pid)
	}
	if err == nil {
		_ = unix.PtraceDetach(pid)
	}
	return classify("ptrace(PTRACE_ATTACH, "+strconv.Itoa(pid)+")", err)
}

// setnsHostUserNS: the parent of the container's user namespace is the
// host's; a handle on it (NS_GET_PARENT) and a setns into it would make
// the container's root host root again. In the host's user namespace
// there is no parent to get.
func setnsHostUserNS(*env) outcome {
	fd, err := unix.Open("/proc/self/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return failure("open /proc/self/ns/user: %v", err)
	}
	defer unix.Close(fd)
	const nsGetParent = 0xb702 // _IO(0xb7, 0x2)
	parent, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsGetParent, 0)
	if errno != 0 {
		return classify("ioctl(NS_GET_PARENT) on /proc/self/ns/user", errno)
	}
	defer unix.Close(int(parent))
	return classify("setns(parent user namespace)", unix.Setns(int(parent), unix.CLONE_NEWUSER))
}
