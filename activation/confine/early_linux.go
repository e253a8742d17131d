//go:build cgo

package confine

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// The steps of the confinement that must cover every thread of the
// process run here, in C, before the Go runtime starts its first thread:
// a mount namespace, a network namespace, the root directory and the
// capability sets belong to a thread, and Go has no way to run code on all
// of its threads once cgo is linked. A constructor of the executable runs
// while the process has its one thread, so what it changes every later
// thread inherits. It only records what went wrong; the Go side reports
// it (Shim, Forwarder) and refuses to go on.

// The new mount API's constants, which <linux/mount.h> has but glibc's
// <sys/mount.h> redefines in some versions (the two do not mix).
#define DOCKAH_FSOPEN_CLOEXEC 0x00000001
#define DOCKAH_FSCONFIG_SET_STRING 1
#define DOCKAH_FSCONFIG_CMD_CREATE 6
#define DOCKAH_FSMOUNT_CLOEXEC 0x00000001
#define DOCKAH_MOUNT_ATTR_RDONLY 0x00000001
#define DOCKAH_MOUNT_ATTR_NOSUID 0x00000002
#define DOCKAH_MOUNT_ATTR_NODEV 0x00000004
#define DOCKAH_MOUNT_ATTR_NOEXEC 0x00000008

enum { DOCKAH_EARLY_NONE, DOCKAH_EARLY_SHIM, DOCKAH_EARLY_FORWARDER };

struct dockah_early {
	int mode;         // what the constructor was asked to do
	int done;         // it did all of it
	const char *step; // else the step that failed
	int err;          // and its errno
};

struct dockah_early dockah_early;

extern char **environ;

static void early_fail(const char *step, int err) {
	dockah_early.step = step;
	dockah_early.err = err;
}

// is_shim_start reports whether argv starts a container, or records its
// stop (which may read the image): "dockah-activate NAME",
// "dockah-activate --definition FILE NAME", "dockah-activate --stopped NAME".
static int is_shim_start(int argc, char **argv) {
	if (argc < 2)
		return 0;
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (strcmp(base, "dockah-activate") != 0)
		return 0;
	if (argc == 2)
		return argv[1][0] != '-' && argv[1][0] != 0;
	if (argc == 3)
		return strcmp(argv[1], "--stopped") == 0;
	return argc == 4 && strcmp(argv[1], "--definition") == 0;
}

// shim gives the shim a mount namespace of its own, in which nothing it
// mounts reaches the host and the host's new mounts still appear (as
// systemd's PrivateMounts=yes). Shim (shim_linux.go) does the rest.
static void shim(void) {
	dockah_early.mode = DOCKAH_EARLY_SHIM;
	if (unshare(CLONE_NEWNS) < 0)
		return early_fail("unshare(CLONE_NEWNS)", errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return early_fail("make / a slave of the host's mounts", errno);
	dockah_early.done = 1;
}

// forwarder confines the forwarder (StartForwarder) for good: it joins the
// container's network namespace, where every socket it makes will be, takes
// an empty read-only tmpfs as its root, and gives up every capability and
// the right to gain one. spec is "NETNS_FD:PARENT_PID".
static void forwarder(const char *spec) {
	dockah_early.mode = DOCKAH_EARLY_FORWARDER;
	char *end;
	long netns = strtol(spec, &end, 10);
	long parent = *end == ':' ? strtol(end + 1, &end, 10) : 0;
	if (netns < 3 || parent < 1 || *end != 0)
		return early_fail("read _DOCKAH_FORWARDER", EINVAL);
	if (setns((int)netns, CLONE_NEWNET) < 0)
		return early_fail("join the container's network namespace", errno);
	close((int)netns);

	// The root: a tmpfs mounted nowhere (a detached mount of the new
	// mount API), read-only, with nothing in it. The mount outlives its
	// file descriptor as the root of this process; no path of the host
	// leads into it or out of it.
	int fs = syscall(SYS_fsopen, "tmpfs", DOCKAH_FSOPEN_CLOEXEC);
	if (fs < 0)
		return early_fail("fsopen(tmpfs)", errno);
	if (syscall(SYS_fsconfig, fs, DOCKAH_FSCONFIG_SET_STRING, "mode", "0555", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, DOCKAH_FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, DOCKAH_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return early_fail("create the empty root", errno);
	int root = syscall(SYS_fsmount, fs, DOCKAH_FSMOUNT_CLOEXEC,
			   DOCKAH_MOUNT_ATTR_RDONLY | DOCKAH_MOUNT_ATTR_NOSUID | DOCKAH_MOUNT_ATTR_NODEV | DOCKAH_MOUNT_ATTR_NOEXEC);
	if (root < 0)
		return early_fail("fsmount the empty root", errno);
	close(fs);
	if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return early_fail("enter the empty root", errno);
	close(root);

	// Capabilities: no root magic at exec, none to regain, the bounding
	// set empty (PR_CAPBSET_DROP needs CAP_SETPCAP, so it comes before
	// capset), no ambient ones, then every set of this thread cleared.
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
				     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
				     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0) < 0)
		return early_fail("set the securebits", errno);
	for (int c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; // past the kernel's last capability
			return early_fail("drop the bounding set", errno);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return early_fail("clear the ambient set", errno);
	struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &header, data) < 0)
		return early_fail("clear the capability sets", errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return early_fail("set no_new_privs", errno);
	// Giving up capabilities cleared the parent-death signal the shim
	// set: set it again, then make sure the shim did not go meanwhile.
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return early_fail("set the parent-death signal", errno);
	if (getppid() != (pid_t)parent)
		_exit(1);
	dockah_early.done = 1;
}

// initial_argv finds the process's arguments where the kernel put them on
// its first stack (the System V ABI): argc, argv[0] to argv[argc-1], a
// NULL, then the environment, at which environ still points while
// constructors run. glibc passes a constructor argc and argv; musl, which
// the shim is linked with (Makefile), passes nothing. Walking back from
// the environment, the word before argv[0] is the first that equals the
// number of words walked: every argument is a pointer, far above any
// count. (The exec trampoline, activation/exec_userns_linux.go, finds its
// arguments the same way.)
static char **initial_argv(char **envp, int *argc) {
	if (envp == NULL || envp[-1] != NULL)
		return NULL;
	for (long n = 0; n < (1L << 20); n++) {
		char **argv = envp - 1 - n;
		if ((long)argv[-1] == n) {
			*argc = (int)n;
			return argv;
		}
	}
	return NULL;
}

__attribute__((constructor)) static void dockah_confine_early(void) {
	const char *spec = getenv("_DOCKAH_FORWARDER");
	if (spec != NULL) {
		forwarder(spec);
		return;
	}
	// The stages and the init re-execute this binary: they are confined
	// by the container's own namespaces and policy.
	if (getenv("_DOCKAH_STAGE") != NULL || getenv("_DOCKAH_INIT") != NULL)
		return;
	const char *force = getenv("_DOCKAH_CONFINE");
	if (force != NULL && strcmp(force, "shim") == 0) {
		shim();
		return;
	}
	int argc = 0;
	char **argv = initial_argv(environ, &argc);
	if (argv != NULL && is_shim_start(argc, argv))
		shim();
}
*/
import "C"

import (
	"fmt"
	"syscall"
)

// early reports what the constructor did for mode: nil if it did all of
// it, an error naming the step that failed, or errNotEarly if the process
// was not started for that.
func early(mode C.int) error {
	if C.dockah_early.mode != mode {
		return errNotEarly
	}
	if C.dockah_early.done == 1 {
		return nil
	}
	if C.dockah_early.step == nil {
		return errNotEarly
	}
	return fmt.Errorf("%s: %w", C.GoString(C.dockah_early.step), syscall.Errno(C.dockah_early.err))
}

func earlyShim() error      { return early(C.DOCKAH_EARLY_SHIM) }
func earlyForwarder() error { return early(C.DOCKAH_EARLY_FORWARDER) }
