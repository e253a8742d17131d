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
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

// The last steps of a container's start, in a child cloned from a thread
// of the shim that has already built the container's root and namespaces.
// Go cannot run in a child of a multi-threaded process, so these steps are
// C, and only system calls: no allocation, no lock, no libc state.

struct dockah_spawn {
	const char *path;
	char *const *argv;
	char *const *envp;
	int sync_fd;        // write end of the report pipe, O_CLOEXEC
	int go_fd, go_w;    // the shim's go-ahead: read end, and the write end to close
	int stdio[3];       // become fd 0, 1, 2 (-1: stays)
	int nsock;          // sockets, become fd 3 and on
	const int *socks;
	int ctty;           // stdin is a terminal: make it the controlling one
	unsigned long proc_flags;
	const char *proc_data;
	int nmask;          // paths under /proc hidden
	const char *const *masks;
	int nro;            // paths under /proc made read-only
	const char *const *ro;
	int nrlimit;
	const int *rlimit_res;
	const struct rlimit *rlimits;
	uint64_t bounding, effective, permitted, inheritable, ambient;
	int last_cap;
	unsigned int uid, gid;
	int ngroups;
	const gid_t *groups;
	int no_new_privs;
	unsigned short filter_len; // BPF instructions; 0: no filter
	const struct sock_filter *filter;
	int userns_fd;      // the user namespace to join after /proc; -1: none
	const char *old_root; // the host's root to detach after /proc ("/proc/self/fd/N"), or NULL
	int init_fd;        // init = true: the pinned shim to re-execute as the init; -1: none
	int stop_signal;    // what the init turns SIGTERM into (0: SIGTERM)
	const char *init_name; // the init's argv[1]
	const char *exec_label; // the SELinux label the entrypoint (and the init) get at exec, or NULL
};


// fail reports "E<step>\0<errno in decimal>" to the shim and exits 125.
// No stdio or strerror: the child shares the shim's memory until exec,
// and nothing that may take a lock of the C library is safe here.
static void fail(const struct dockah_spawn *a, const char *step, int err) {
	char msg[512];
	size_t n = 0;
	msg[n++] = 'E';
	for (const char *p = step; *p && n < sizeof msg - 16; p++)
		msg[n++] = *p;
	msg[n++] = 0;
	char digits[12];
	int d = 0;
	unsigned int v = err < 0 ? 0 : (unsigned int)err;
	do {
		digits[d++] = '0' + v % 10;
		v /= 10;
	} while (v && d < (int)sizeof digits);
	while (d > 0)
		msg[n++] = digits[--d];
	if (write(a->sync_fd, msg, n) < 0) {
		// Nothing else to tell it with.
	}
	_exit(125);
}

#define TRY(a, step, call) do { if ((call) < 0) fail((a), (step), errno); } while (0)

static void mount_proc(const struct dockah_spawn *a) {
	TRY(a, "mount proc on /proc", mount("proc", "/proc", "proc", a->proc_flags, a->proc_data));
	for (int i = 0; i < a->nmask; i++) {
		struct stat st;
		if (lstat(a->masks[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			fail(a, a->masks[i], errno);
		}
		if (S_ISDIR(st.st_mode))
			TRY(a, a->masks[i], mount("tmpfs", a->masks[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0500"));
		else
			TRY(a, a->masks[i], mount("/dev/null", a->masks[i], NULL, MS_BIND, NULL));
	}
	for (int i = 0; i < a->nro; i++) {
		if (mount(a->ro[i], a->ro[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			fail(a, a->ro[i], errno);
		}
		TRY(a, a->ro[i], mount(NULL, a->ro[i], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
	}
}

// place_fds moves stdio to 0, 1, 2 and the sockets to 3, 4, ...: first
// out of the way, as they may sit on each other's targets, then into place
// (dup2 clears O_CLOEXEC).
static void place_fds(const struct dockah_spawn *a) {
	int n = 3 + a->nsock;
	int src[n], tmp[n];
	for (int i = 0; i < 3; i++)
		src[i] = a->stdio[i];
	for (int i = 0; i < a->nsock; i++)
		src[3 + i] = a->socks[i];
	int low = n;
	if (a->sync_fd >= low)
		low = a->sync_fd + 1;
	if (a->go_fd >= low)
		low = a->go_fd + 1;
	for (int i = 0; i < n; i++) {
		tmp[i] = -1;
		if (src[i] < 0)
			continue;
		tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, low);
		if (tmp[i] < 0)
			fail(a, "move the sockets", errno);
	}
	for (int i = 0; i < n; i++)
		if (tmp[i] >= 0)
			TRY(a, "move the sockets", dup2(tmp[i], i));
}

static void set_caps(const struct dockah_spawn *a) {
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {
		{(uint32_t)a->effective, (uint32_t)a->permitted, (uint32_t)a->inheritable},
		{(uint32_t)(a->effective >> 32), (uint32_t)(a->permitted >> 32), (uint32_t)(a->inheritable >> 32)},
	};
	TRY(a, "capset", syscall(SYS_capset, &hdr, data));
	TRY(a, "clear ambient capabilities", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	for (int c = 0; c <= a->last_cap; c++)
		if (a->ambient & (1ULL << c))
			TRY(a, "raise an ambient capability", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0));
}

// set_exec_label sets the SELinux label of the next exec, as the setup
// stage's setExecLabel does: through the container's own /proc, in which
// this process is pid 1, so it is its own thread-self. The label is part
// of the credentials: it survives the join of the user namespace, the
// change of user and, under init = true, the fork of the entrypoint.
static void set_exec_label(const struct dockah_spawn *a) {
	if (a->exec_label == NULL)
		return;
	int fd = open("/proc/thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail(a, "set the SELinux exec label", errno);
	size_t len = strlen(a->exec_label);
	if (write(fd, a->exec_label, len) != (ssize_t)len)
		fail(a, "set the SELinux exec label", errno);
	close(fd);
}

static void load_filter(const struct dockah_spawn *a) {
	if (a->filter_len == 0)
		return;
	struct sock_fprog prog = {a->filter_len, (struct sock_filter *)a->filter};
	TRY(a, "load seccomp filter", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
}

// put_num writes v in decimal at p and returns the end.
static char *put_num(char *p, unsigned long v) {
	char digits[24];
	int d = 0;
	do {
		digits[d++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (d > 0)
		*p++ = digits[--d];
	return p;
}

// become_init runs under init = true, once the container's pid 1 holds
// the container's user and policy: it starts the entrypoint as its child
// (pid 2, a copy of this process that waits until the init is not
// dumpable), gives up every capability and re-executes the pinned shim
// as dockah's init (RunInit), as the setup stage's becomeInit does.
static void become_init(const struct dockah_spawn *a) {
	int rp[2];
	TRY(a, "create the ready pipe", pipe2(rp, O_CLOEXEC));
	long app = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (app < 0)
		fail(a, "start the entrypoint's process", errno);
	if (app == 0) {
		close(rp[1]);
		char c;
		ssize_t n;
		do
			n = read(rp[0], &c, 1);
		while (n > 0 || (n < 0 && errno == EINTR));
		close(rp[0]);
		execve(a->path, a->argv, a->envp);
		fail(a, a->path, errno);
	}
	close(rp[0]);
	// Dropping from the bounding set takes CAP_SETPCAP, which a
	// container whose user is not root (or that dropped SETPCAP) does
	// not hold: its init has no capability to give up then, and keeps a
	// bounding set that nothing it runs can use (it execs only the
	// pinned stage binary, which has neither set-ID bits nor file
	// capabilities).
	int setpcap = (a->effective >> CAP_SETPCAP) & 1;
	for (int c = 0; c <= a->last_cap && setpcap; c++)
		TRY(a, "drop a capability from the bounding set", prctl(PR_CAPBSET_DROP, c, 0, 0, 0));
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct none[2] = {{0, 0, 0}, {0, 0, 0}};
	TRY(a, "capset", syscall(SYS_capset, &hdr, none));
	TRY(a, "clear ambient capabilities", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	TRY(a, "keep the ready pipe", fcntl(rp[1], F_SETFD, 0));
	char env[96] = "_DOCKAH_INIT=", *p = env + 13;
	p = put_num(p, (unsigned long)app);
	*p++ = ':';
	p = put_num(p, (unsigned long)a->stop_signal);
	*p++ = ':';
	p = put_num(p, (unsigned long)rp[1]);
	*p = 0;
	char *const envp[] = {env, NULL};
	char *const argv[] = {"dockah-activate", (char *)a->init_name, NULL};
	syscall(SYS_execveat, a->init_fd, "", argv, envp, AT_EMPTY_PATH);
	fail(a, "re-execute as the init", errno);
}

static int dockah_child(void *arg) {
	const struct dockah_spawn *a = arg;
	close(a->go_w); // so that the shim's death reads as end of file
	// Born with every signal blocked (see dockah_spawn) and with Go's
	// handlers, which must not run here: back to the defaults, then
	// nothing blocked, which exec keeps.
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = {SIG_DFL, 0, NULL, 0};
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
	uint64_t none = 0;
	TRY(a, "reset the signal mask", syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8));
	// A session of its own: the shim's exit must not hang it up.
	TRY(a, "new session", setsid());
	if (a->old_root) {
		// Before place_fds, which may reuse the old root's fd number.
		mount_proc(a);
		TRY(a, "detach the host root", umount2(a->old_root, MNT_DETACH));
	}
	place_fds(a);
	if (a->ctty)
		TRY(a, "take the terminal", ioctl(0, TIOCSCTTY, 1));
	if (!a->old_root)
		mount_proc(a);
	for (int i = 0; i < a->nrlimit; i++)
		TRY(a, "set a resource limit", setrlimit(a->rlimit_res[i], &a->rlimits[i]));
	// With the shim's own credentials, which the policy lets set a
	// container's label, before the user namespace's.
	set_exec_label(a);
	// Into the container's user namespace: after /proc (mounted with the
	// shim's privilege) and the limits (raising one needs host
	// privilege), before anything the capability sets decide, since
	// joining gives a full set again, bounding set included.
	if (a->userns_fd >= 0)
		TRY(a, "join the user namespace", setns(a->userns_fd, CLONE_NEWUSER));
	if (!a->no_new_privs)
		load_filter(a); // needs CAP_SYS_ADMIN without no_new_privs
	for (int c = 0; c <= a->last_cap; c++)
		if (!(a->bounding & (1ULL << c)))
			TRY(a, "drop a capability from the bounding set", prctl(PR_CAPBSET_DROP, c, 0, 0, 0));
	TRY(a, "keep capabilities", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	TRY(a, "setgroups", syscall(SYS_setgroups, a->ngroups, a->groups));
	TRY(a, "setresgid", syscall(SYS_setresgid, a->gid, a->gid, a->gid));
	TRY(a, "setresuid", syscall(SYS_setresuid, a->uid, a->uid, a->uid));
	TRY(a, "reset keep capabilities", prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
	set_caps(a);
	if (a->no_new_privs)
		TRY(a, "set no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	TRY(a, "close fds", syscall(SYS_close_range, 3 + a->nsock, ~0U, 4)); // 4: CLOSE_RANGE_CLOEXEC
	umask(022);
	if (write(a->sync_fd, "X", 1) != 1)
		fail(a, "report to the shim", errno);
	// The shim tells systemd the container's pid before the entrypoint
	// runs, so that one which exits at once is still its main process.
	char go;
	ssize_t n;
	do
		n = read(a->go_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || go != 'G')
		fail(a, "wait for the shim", n < 0 ? errno : ECANCELED);
	if (a->no_new_privs)
		load_filter(a);
	if (a->init_fd >= 0)
		become_init(a);
	execve(a->path, a->argv, a->envp);
	fail(a, a->path, errno);
	return 125;
}

#define DOCKAH_STACK_SIZE (256 << 10)


// dockah_spawn clones the child on the given stack, in the shim's memory
// (CLONE_VM: nothing is copied, so the clone and the exec that replaces it
// are cheap), and returns its pid. The stack and a must stay until the
// child has exec'd or exited.
static int dockah_spawn(struct dockah_spawn *a, char *stack, int sibling) {
	const size_t size = DOCKAH_STACK_SIZE;
	// Block every signal until the child has reset the handlers it
	// inherits; the thread gets its mask back right after.
	uint64_t all = ~0ULL, old;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
	int pid = clone(dockah_child, stack + size, CLONE_VM | (sibling ? CLONE_PARENT : 0) | SIGCHLD, a);
	int err = errno;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	return pid < 0 ? -err : pid;
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cArena holds C memory for one spawn; free releases all of it.
type cArena struct{ ptrs []unsafe.Pointer }

func (a *cArena) alloc(size int) unsafe.Pointer {
	p := C.calloc(1, C.size_t(max(size, 1)))
	a.ptrs = append(a.ptrs, p)
	return p
}

func (a *cArena) str(s string) *C.char {
	p := (*C.char)(a.alloc(len(s) + 1))
	copy(unsafe.Slice((*byte)(unsafe.Pointer(p)), len(s)), s)
	return p
}

// strs returns a NULL-terminated array of C strings.
func (a *cArena) strs(list []string) **C.char {
	arr := unsafe.Slice((**C.char)(a.alloc((len(list)+1)*int(unsafe.Sizeof((*C.char)(nil))))), len(list)+1)
	for i, s := range list {
		arr[i] = a.str(s)
	}
	return &arr[0]
}

func (a *cArena) free() {
	for _, p := range a.ptrs {
		C.free(p)
	}
}

// spawnAvailable reports whether this binary can start containers from a
// thread of its own (the cgo build of the shim).
const spawnAvailable = true

// spawnChild clones the container's pid 1 from the calling thread, which
// is locked, has entered the container's namespaces and root, and is in
// its working directory. The child mounts /proc, applies the user and the
// policy, reports msgExec on report and waits for 'G' on goAhead before
// it execs argv0; errors arrive on report too.
//
// The child runs in this process's memory until it execs: release, which
// frees what it reads, must wait for the end of report.
func spawnChild(cfg *Config, stdio [3]*os.File, sockets []*os.File, procMount mountOptions, procMasks, procReadOnly []string, user User, lastCap int, argv0 string, env []string, sibling bool, ns *usernsBuild) (pid int, report, goAhead *os.File, release func(), err error) {
	var fds, gofds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return 0, nil, nil, nil, fmt.Errorf("create report pipe: %w", err)
	}
	if err := unix.Pipe2(gofds[:], unix.O_CLOEXEC); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return 0, nil, nil, nil, fmt.Errorf("create go-ahead pipe: %w", err)
	}
	report, goAhead = os.NewFile(uintptr(fds[0]), "report"), os.NewFile(uintptr(gofds[1]), "go-ahead")
	defer unix.Close(fds[1])
	defer unix.Close(gofds[0])
	var arena cArena
	fail := func(err error) (int, *os.File, *os.File, func(), error) {
		report.Close()
		goAhead.Close()
		arena.free()
		return 0, nil, nil, nil, err
	}

	proc := cfg.Spec.Process
	args := (*C.struct_dockah_spawn)(arena.alloc(int(unsafe.Sizeof(C.struct_dockah_spawn{}))))
	args.path = arena.str(argv0)
	args.argv = arena.strs(proc.Args)
	args.envp = arena.strs(env)
	args.sync_fd = C.int(fds[1])
	args.go_fd, args.go_w = C.int(gofds[0]), C.int(gofds[1])

	// The sockets are referenced by their numbers in the shim, which the
	// child's copy of the fd table has too; keep them alive meanwhile.
	socks := unsafe.Slice((*C.int)(arena.alloc(len(sockets)*4)), max(len(sockets), 1))
	for i, f := range sockets {
		socks[i] = C.int(f.Fd())
	}
	args.nsock = C.int(len(sockets))
	args.socks = &socks[0]

	for i, f := range stdio {
		args.stdio[i] = -1
		if f != nil {
			args.stdio[i] = C.int(f.Fd())
		}
	}
	stdin := 0
	if stdio[0] != nil {
		stdin = int(stdio[0].Fd())
	}
	if _, err := unix.IoctlGetTermios(stdin, unix.TCGETS); err == nil {
		args.ctty = 1
	}
	args.proc_flags = C.ulong(procMount.flags)
	args.proc_data = arena.str(procMount.data)
	args.nmask, args.masks = C.int(len(procMasks)), (**C.char)(unsafe.Pointer(arena.strs(procMasks)))
	args.nro, args.ro = C.int(len(procReadOnly)), (**C.char)(unsafe.Pointer(arena.strs(procReadOnly)))

	res := unsafe.Slice((*C.int)(arena.alloc(len(proc.Rlimits)*4)), max(len(proc.Rlimits), 1))
	lims := unsafe.Slice((*C.struct_rlimit)(arena.alloc(len(proc.Rlimits)*int(unsafe.Sizeof(C.struct_rlimit{})))), max(len(proc.Rlimits), 1))
	for i, l := range proc.Rlimits {
		r, ok := rlimitNames[l.Type]
		if !ok {
			return fail(fmt.Errorf("unknown rlimit %s", l.Type))
		}
		res[i] = C.int(r)
		lims[i].rlim_cur, lims[i].rlim_max = C.rlim_t(l.Soft), C.rlim_t(l.Hard)
	}
	args.nrlimit, args.rlimit_res, args.rlimits = C.int(len(proc.Rlimits)), &res[0], &lims[0]

	sets := cfg.Capabilities
	if user.UID != 0 {
		sets = cfg.UserCapabilities
	}
	args.bounding = C.uint64_t(cfg.Capabilities.Bounding)
	args.effective, args.permitted = C.uint64_t(sets.Effective), C.uint64_t(sets.Permitted)
	args.inheritable, args.ambient = C.uint64_t(sets.Inheritable), C.uint64_t(sets.Ambient)
	args.last_cap = C.int(lastCap)
	args.uid, args.gid = C.uint(user.UID), C.uint(user.GID)
	groups := unsafe.Slice((*C.gid_t)(arena.alloc(len(user.AdditionalGIDs)*4)), max(len(user.AdditionalGIDs), 1))
	for i, g := range user.AdditionalGIDs {
		groups[i] = C.gid_t(g)
	}
	args.ngroups, args.groups = C.int(len(user.AdditionalGIDs)), &groups[0]
	if proc.NoNewPrivileges {
		args.no_new_privs = 1
	}
	if n := len(cfg.Seccomp); n > 0 {
		if n%8 != 0 || n/8 > 0xffff {
			return fail(fmt.Errorf("seccomp program of %d bytes is not a BPF program", n))
		}
		filter := arena.alloc(n)
		copy(unsafe.Slice((*byte)(filter), n), cfg.Seccomp)
		args.filter_len, args.filter = C.ushort(n/8), (*C.struct_sock_filter)(filter)
	}

	if proc.SelinuxLabel != "" {
		args.exec_label = arena.str(proc.SelinuxLabel)
	}
	args.userns_fd = -1
	args.init_fd = -1
	if ns != nil {
		args.userns_fd = C.int(ns.userns.Fd())
		args.old_root = arena.str("/proc/self/fd/" + strconv.Itoa(int(ns.oldRoot.Fd())))
		if ns.init != nil {
			args.init_fd = C.int(ns.init.Fd())
			args.stop_signal = C.int(cfg.StopSignal)
			args.init_name = arena.str("[init " + cfg.Name + "]")
		}
	}
	sib := C.int(0)
	if sibling {
		sib = 1
	}
	stack := arena.alloc(C.DOCKAH_STACK_SIZE)
	ret := int(C.dockah_spawn(args, (*C.char)(stack), sib))
	if ret < 0 {
		return fail(fmt.Errorf("create the container's init: %w", unix.Errno(-ret)))
	}
	// The sockets and stdio the child moves into place are numbers in
	// the fd table it copied at clone; the files may go after.
	runtime.KeepAlive(sockets)
	runtime.KeepAlive(stdio)
	return ret, report, goAhead, arena.free, nil
}
