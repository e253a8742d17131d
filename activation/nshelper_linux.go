//go:build cgo && !stage

package activation

/*
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DOCKAH_NSHELPER_STACK_SIZE (16 << 10)

// nshelper_main holds the namespaces of a container with a user
// namespace: it was cloned into a new user namespace with the container's
// other namespaces (which the kernel makes belong to the new user
// namespace). It reports on fd and waits, every signal blocked since its
// clone, until the shim has taken the namespaces and kills it.
static int nshelper_main(void *arg) {
	const int *p = arg; // report fd
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	int err = 0;
	if (write(p[0], &err, sizeof err) != sizeof err)
		_exit(1);
	for (;;)
		pause();
	return 0;
}

// dockah_nshelper clones the helper (in this process's memory, on stack)
// with flags | CLONE_NEWUSER and returns its pid, or -errno.
static int dockah_nshelper(int flags, int *p, char *stack) {
	uint64_t all = ~0ULL, old;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
	int pid = clone(nshelper_main, stack + DOCKAH_NSHELPER_STACK_SIZE, CLONE_VM | CLONE_NEWUSER | flags | SIGCHLD, p);
	int err = errno;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	return pid < 0 ? -err : pid;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// userNamespaceHelper creates the namespaces flags asks for, and a user
// namespace they belong to with m's maps, in a helper process, and calls
// join with its pid; the helper is killed and reaped once join returns.
func userNamespaceHelper(m *IDMapping, flags uintptr, join func(pid int) error) error {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("create the user namespace: %w", err)
	}
	defer unix.Close(fds[0])
	var arena cArena
	defer arena.free()
	p := unsafe.Slice((*C.int)(arena.alloc(4)), 1)
	p[0] = C.int(fds[1])
	stack := arena.alloc(C.DOCKAH_NSHELPER_STACK_SIZE)
	pid := int(C.dockah_nshelper(C.int(helperFlags(flags)), &p[0], (*C.char)(stack)))
	unix.Close(fds[1])
	if pid < 0 {
		return fmt.Errorf("create the user namespace: %w", unix.Errno(-pid))
	}
	defer func() {
		_ = unix.Kill(pid, unix.SIGKILL)
		for {
			if _, err := unix.Wait4(pid, nil, 0, nil); err != unix.EINTR {
				break
			}
		}
	}()
	var errno [4]byte
	if n, err := unix.Read(fds[0], errno[:]); n != 4 {
		return fmt.Errorf("create the container's namespaces: the helper ended (%v)", err)
	}
	if e := *(*C.int)(unsafe.Pointer(&errno[0])); e != 0 {
		return fmt.Errorf("create the container's namespaces: %w", unix.Errno(e))
	}
	if err := writeIDMaps(pid, m); err != nil {
		return err
	}
	return join(pid)
}
