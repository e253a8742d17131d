package policy

import (
	"sync"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// This file is dockah's default seccomp profile. It has the semantics of
// Docker's default profile (moby/profiles seccomp, 2025): an allow-list,
// EPERM for everything else, argument filters on personality, clone and
// socket, and rules that open a few syscalls only to a container holding
// the capability that makes them meaningful. Where dockah differs:
//
//   - native architecture only unless 32-bit is asked for (SeccompConfig.Arches);
//   - AF_PACKET sockets need CAP_NET_RAW, which the default set lacks;
//   - ptrace, process_vm_readv and process_vm_writev need CAP_SYS_PTRACE.
//     Docker allows them on kernels >= 4.8 (seccomp re-checks a syscall a
//     tracer rewrites), but then root in a container can trace its pid 1
//     and read its memory: same uid, same capabilities, and Yama is often
//     off. Debugging in a container is an explicit capabilities_add;
//   - syscalls newer than any the profile names fail with ENOSYS (see compile).
//
// io_uring_setup, io_uring_enter and io_uring_register are not allowed: the
// io_uring interface bypasses syscall filtering for the operations it
// submits and has been a steady source of kernel exploits.

// defaultAllowed is the unconditional allow-list. Names unknown to the
// host's libseccomp (32-bit-only calls on x86_64, syscalls newer than the
// library) are skipped when the filter is compiled.
var defaultAllowed = []string{
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
	"cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32",
	"clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
	"clock_gettime", "clock_gettime64", "clock_nanosleep",
	"clock_nanosleep_time64", "close", "close_range", "connect",
	"copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
	"epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
	"execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2",
	"fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir",
	"fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
	"fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
	"fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64",
	"fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
	"futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
	"futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64",
	"getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
	"getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
	"getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
	"getresgid32", "getresuid", "getresuid32", "getrlimit",
	"get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
	"get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
	"getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
	"inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
	"io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
	"ioprio_set", "io_setup", "io_submit", "ipc", "kill",
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
	"lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
	"listmount", "listxattr", "listxattrat", "llistxattr", "_llseek",
	"lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
	"map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
	"mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
	"mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify",
	"mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
	"mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl",
	"msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
	"name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
	"openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe",
	"pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
	"ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
	"process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
	"pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
	"recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
	"remap_file_pages", "removexattr", "removexattrat", "rename", "renameat",
	"renameat2", "restart_syscall", "riscv_hwprobe", "rmdir", "rseq",
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
	"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
	"sched_getattr", "sched_getparam", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
	"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
	"sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
	"select", "semctl", "semget", "semop", "semtimedop",
	"semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
	"sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
	"setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
	"setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
	"setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
	"set_robust_list", "setsid", "setsockopt", "set_thread_area",
	"set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat",
	"shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
	"signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
	"socketpair", "splice", "stat", "stat64", "statfs", "statfs64",
	"statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
	"syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
	"timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
	"timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
	"timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
	"tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
	"unlink", "unlinkat", "uretprobe", "utime", "utimensat",
	"utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid",
	"waitpid", "write", "writev",
}

// socketDomains are the address families socket(2) may create without a
// capability: every family the kernel still implements except AF_PACKET
// (needs CAP_NET_RAW, below), AF_ALG (the kernel crypto API: attack
// surface no service needs) and AF_VSOCK (host/guest sockets that ignore
// network namespaces). Families 1..11 are one range rule; the rest are
// single values, because two comparisons on one argument would be OR-ed.
var socketDomains = []uint64{
	unix.AF_NETBEUI, unix.AF_SECURITY, unix.AF_KEY, unix.AF_NETLINK,
	unix.AF_ASH, unix.AF_RDS, unix.AF_SNA, unix.AF_PPPOX, unix.AF_LLC,
	unix.AF_IB, unix.AF_MPLS, unix.AF_CAN, unix.AF_TIPC, unix.AF_BLUETOOTH,
	unix.AF_IUCV, unix.AF_RXRPC, unix.AF_PHONET, unix.AF_IEEE802154,
	unix.AF_NFC, unix.AF_KCM, unix.AF_QIPCRTR, unix.AF_SMC, unix.AF_XDP,
	unix.AF_MCTP,
}

// nsFlags are the clone flags that create namespaces; without
// CAP_SYS_ADMIN a container may clone only with none of them set.
const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// allow is a shorthand for an unconditional allow rule.
func allow(names ...string) seccompRule {
	return seccompRule{Names: names, Action: specs.ActAllow}
}

// allowArg allows name when argument index compares to value with op.
func allowArg(name string, index uint, op specs.LinuxSeccompOperator, value uint64) seccompRule {
	r := allow(name)
	r.Args = []specs.LinuxSeccompArg{{Index: index, Value: value, Op: op}}
	return r
}

// withCaps makes r apply only to a container holding every cap in caps.
func withCaps(r seccompRule, caps ...Cap) seccompRule {
	r.Includes.Caps = NewCapSet(caps...)
	return r
}

// onArches makes r apply only on the listed native architectures.
func onArches(r seccompRule, arches ...string) seccompRule {
	r.Includes.Arches = arches
	return r
}

// defaultRuleSet is built once; profiles share it and never modify it.
var defaultRuleSet = sync.OnceValue(defaultRules)

// defaultRules returns the default profile's rules.
func defaultRules() []seccompRule {
	rules := make([]seccompRule, 0, 64)
	rules = append(rules, allow(defaultAllowed...))
	rules = append(rules, allowArg("socket", 0, specs.OpLessThan, unix.AF_ROSE+1))
	for _, d := range socketDomains {
		rules = append(rules, allowArg("socket", 0, specs.OpEqualTo, d))
	}
	rules = append(rules, withCaps(allowArg("socket", 0, specs.OpEqualTo, unix.AF_PACKET), unix.CAP_NET_RAW))

	// personality: only the default, the 32-bit one, UNAME26 and a query.
	for _, p := range []uint64{0x0, 0x0008, 0x20000, 0x20008, 0xffffffff} {
		rules = append(rules, allowArg("personality", 0, specs.OpEqualTo, p))
	}
	rules = append(rules,
		onArches(allow("sync_file_range2", "swapcontext"), "ppc64le"),
		onArches(allow("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
			"breakpoint", "cacheflush", "set_tls"), "arm", "arm64"),
		onArches(allow("arch_prctl"), "amd64", "x32"),
		onArches(allow("modify_ldt"), "amd64", "x32", "x86"),
		onArches(allow("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"), "s390", "s390x"),
		onArches(allow("riscv_flush_icache"), "riscv64"),
	)
	return append(rules, capabilityRules()...)
}

// capabilityRules open syscalls to containers given the matching capability.
func capabilityRules() []seccompRule {
	// clone without namespace flags; s390 swaps clone's first two arguments.
	clone := allowArg("clone", 0, specs.OpMaskedEqual, nsFlags)
	clone.Excludes = ruleFilter{Caps: NewCapSet(unix.CAP_SYS_ADMIN), Arches: []string{"s390", "s390x"}}
	cloneS390 := onArches(allowArg("clone", 1, specs.OpMaskedEqual, nsFlags), "s390", "s390x")
	cloneS390.Excludes.Caps = NewCapSet(unix.CAP_SYS_ADMIN)
	// clone3 passes its flags behind a pointer seccomp cannot read, so it
	// fails with ENOSYS and libc falls back to clone, whose flags it can.
	nosys := uint(unix.ENOSYS)
	clone3 := seccompRule{Names: []string{"clone3"}, Action: specs.ActErrno, Errno: &nosys}
	clone3.Excludes.Caps = NewCapSet(unix.CAP_SYS_ADMIN)
	return []seccompRule{
		withCaps(allow("open_by_handle_at"), unix.CAP_DAC_READ_SEARCH),
		withCaps(allow("bpf", "clone", "clone3", "fanotify_init", "fsconfig",
			"fsmount", "fsopen", "fspick", "lookup_dcookie", "lsm_get_self_attr",
			"lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr",
			"move_mount", "open_tree", "perf_event_open", "quotactl",
			"quotactl_fd", "setdomainname", "sethostname", "setns", "syslog",
			"umount", "umount2", "unshare"), unix.CAP_SYS_ADMIN),
		clone, cloneS390, clone3,
		withCaps(allow("reboot"), unix.CAP_SYS_BOOT),
		withCaps(allow("chroot"), unix.CAP_SYS_CHROOT),
		withCaps(allow("delete_module", "init_module", "finit_module"), unix.CAP_SYS_MODULE),
		withCaps(allow("acct"), unix.CAP_SYS_PACCT),
		withCaps(allow("kcmp", "pidfd_getfd", "process_madvise",
			"process_vm_readv", "process_vm_writev", "ptrace"), unix.CAP_SYS_PTRACE),
		withCaps(allow("iopl", "ioperm"), unix.CAP_SYS_RAWIO),
		withCaps(allow("settimeofday", "stime", "clock_settime", "clock_settime64"), unix.CAP_SYS_TIME),
		withCaps(allow("vhangup"), unix.CAP_SYS_TTY_CONFIG),
		withCaps(allow("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"), unix.CAP_SYS_NICE),
		withCaps(allow("syslog"), unix.CAP_SYSLOG),
		withCaps(allow("bpf"), unix.CAP_BPF),
		withCaps(allow("perf_event_open"), unix.CAP_PERFMON),
	}
}
