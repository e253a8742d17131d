//go:build cgo && !stage

package activation

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// The exec trampoline: a command that dockah exec runs in a container with
// a user namespace of its own starts as this binary (a sealed copy of it),
// forked by the exec stage inside the container's other namespaces and
// root. A Go process cannot join a user namespace once its threads run,
// so this constructor does it before Go starts, in the single thread of
// a fresh process, then takes the command's user, capability sets,
// no_new_privs and seccomp filter, as the thread start's pid 1 does, and
// execs the command. It never returns into Go.

extern char **environ;

static void tramp_fail(const char *step, int err) {
	fprintf(stderr, "dockah exec: %s: %s\n", step, strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

#define TTRY(step, call) do { if ((call) < 0) tramp_fail((step), errno); } while (0)

static uint64_t next_num(char **p) {
	char *end;
	uint64_t v = strtoull(*p, &end, 10);
	if (end == *p)
		tramp_fail("parse _DOCKAH_TRAMPOLINE", EINVAL);
	*p = (*end == ' ') ? end + 1 : end;
	return v;
}

static void load_filter(int fd) {
	static struct sock_filter prog[4096];
	ssize_t n = 0, r;
	while (n < (ssize_t)sizeof prog && (r = read(fd, (char *)prog + n, sizeof prog - n)) > 0)
		n += r;
	if (r < 0 || n % 8 != 0)
		tramp_fail("read the seccomp program", r < 0 ? errno : EINVAL);
	struct sock_fprog fprog = {(unsigned short)(n / 8), prog};
	TTRY("load seccomp filter", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog));
}

// initial_argv finds the command's arguments where the kernel put them on
// the process's first stack (the System V ABI): argc, argv[0] to
// argv[argc-1], a NULL, then the environment, at which environ still
// points while constructors run. glibc passes a constructor argc and argv;
// musl, which the shim is linked with (Makefile), passes nothing. Walking
// back from the environment, the word before argv[0] is the first that
// equals the number of words walked: every argument is a pointer, far
// above any count.
static char **initial_argv(char **envp) {
	if (envp == NULL || envp[-1] != NULL)
		return NULL;
	for (long n = 0; n < (1L << 20); n++) {
		char **argv = envp - 1 - n;
		if ((long)argv[-1] == n)
			return argv;
	}
	return NULL;
}

__attribute__((constructor)) static void dockah_exec_trampoline(void) {
	const char *spec = getenv("_DOCKAH_TRAMPOLINE");
	const char *path = getenv("_DOCKAH_TRAMPOLINE_PATH");
	if (spec == NULL || path == NULL)
		return;
	char **argv = initial_argv(environ); // before unsetenv moves anything
	if (argv == NULL || argv[0] == NULL)
		tramp_fail("find the command's arguments", EINVAL);
	const char *l = getenv("_DOCKAH_TRAMPOLINE_LABEL");
	char *buf = strdup(spec), *cmd = strdup(path), *label = l ? strdup(l) : NULL;
	if (buf == NULL || cmd == NULL || (l != NULL && label == NULL))
		tramp_fail("start", ENOMEM);
	unsetenv("_DOCKAH_TRAMPOLINE");
	unsetenv("_DOCKAH_TRAMPOLINE_PATH");
	unsetenv("_DOCKAH_TRAMPOLINE_LABEL");
	char *p = buf;
	int self = (int)next_num(&p), userns = (int)next_num(&p), filter = (int)next_num(&p);
	unsigned int uid = (unsigned int)next_num(&p), gid = (unsigned int)next_num(&p);
	int nnp = (int)next_num(&p), last = (int)next_num(&p);
	uint64_t bnd = next_num(&p), eff = next_num(&p), perm = next_num(&p), inh = next_num(&p), amb = next_num(&p);
	int ngroups = (int)next_num(&p);
	gid_t groups[64];
	if (ngroups < 0 || ngroups > 64)
		tramp_fail("parse _DOCKAH_TRAMPOLINE", E2BIG);
	for (int i = 0; i < ngroups; i++)
		groups[i] = (gid_t)next_num(&p);

	TTRY("join the container's user namespace", setns(userns, CLONE_NEWUSER));
	close(userns);
	if (label != NULL && *label) {
		// Through the container's /proc, in whose pid namespace this
		// process is: its thread-self is this thread.
		int fd = open("/proc/thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			tramp_fail("set the SELinux exec label", errno);
		size_t len = strlen(label);
		if (write(fd, label, len) != (ssize_t)len)
			tramp_fail("set the SELinux exec label", errno);
		close(fd);
	}
	if (filter >= 0 && !nnp)
		load_filter(filter); // needs CAP_SYS_ADMIN without no_new_privs
	for (int c = 0; c <= last; c++)
		if (!(bnd & (1ULL << c)))
			TTRY("drop a capability from the bounding set", prctl(PR_CAPBSET_DROP, c, 0, 0, 0));
	TTRY("keep capabilities", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	TTRY("setgroups", syscall(SYS_setgroups, ngroups, groups));
	TTRY("setresgid", syscall(SYS_setresgid, gid, gid, gid));
	TTRY("setresuid", syscall(SYS_setresuid, uid, uid, uid));
	TTRY("reset keep capabilities", prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {
		{(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
		{(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
	};
	TTRY("capset", syscall(SYS_capset, &hdr, data));
	TTRY("clear ambient capabilities", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	for (int c = 0; c <= last; c++)
		if (amb & (1ULL << c))
			TTRY("raise an ambient capability", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0));
	if (nnp) {
		TTRY("set no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
		if (filter >= 0)
			load_filter(filter);
	}
	if (filter >= 0)
		close(filter);
	close(self); // the command gets neither this binary nor its namespaces
	execve(cmd, argv, environ);
	tramp_fail(cmd, errno);
}
*/
import "C"

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trampolineAvailable: this binary has the exec trampoline (a
// container with a user namespace can be exec'd into from it).
const trampolineAvailable = true

// trampolineCommand turns cmd, which the exec stage prepared as the
// command itself (in the container's namespaces but the user one), into
// the trampoline that joins the user namespace and becomes the command:
// self is the sealed copy of this binary, userns the container's user
// namespace. The caller must not drop its own privileges: the trampoline
// applies the container's.
func trampolineCommand(cmd *exec.Cmd, self, userns *os.File, cfg *Config, user User) error {
	last, err := lastCap()
	if err != nil {
		return err
	}
	sets := cfg.Capabilities
	if user.UID != 0 {
		sets = cfg.UserCapabilities
	}
	files := []*os.File{self, userns}
	filterFd := -1
	if len(cfg.Seccomp) > 0 {
		fd, err := unix.MemfdCreate("seccomp", unix.MFD_CLOEXEC)
		if err != nil {
			return fmt.Errorf("exec trampoline: %w", err)
		}
		f := os.NewFile(uintptr(fd), "seccomp")
		if _, err := f.Write(cfg.Seccomp); err != nil {
			f.Close()
			return fmt.Errorf("exec trampoline: %w", err)
		}
		if _, err := f.Seek(0, 0); err != nil {
			f.Close()
			return fmt.Errorf("exec trampoline: %w", err)
		}
		files = append(files, f)
		filterFd = 5
	}
	nnp := 0
	if cfg.Spec.Process.NoNewPrivileges {
		nnp = 1
	}
	fields := []string{"3", "4", strconv.Itoa(filterFd), strconv.FormatUint(uint64(user.UID), 10), strconv.FormatUint(uint64(user.GID), 10),
		strconv.Itoa(nnp), strconv.Itoa(last), strconv.FormatUint(cfg.Capabilities.Bounding, 10),
		strconv.FormatUint(sets.Effective, 10), strconv.FormatUint(sets.Permitted, 10), strconv.FormatUint(sets.Inheritable, 10),
		strconv.FormatUint(sets.Ambient, 10), strconv.Itoa(len(user.AdditionalGIDs))}
	for _, g := range user.AdditionalGIDs {
		fields = append(fields, strconv.FormatUint(uint64(g), 10))
	}
	cmd.Env = append(cmd.Env, "_DOCKAH_TRAMPOLINE="+strings.Join(fields, " "), "_DOCKAH_TRAMPOLINE_PATH="+cmd.Path)
	if label := cfg.Spec.Process.SelinuxLabel; label != "" {
		cmd.Env = append(cmd.Env, "_DOCKAH_TRAMPOLINE_LABEL="+label)
	}
	cmd.Path = "/proc/self/fd/3"
	cmd.ExtraFiles = files
	return nil
}
