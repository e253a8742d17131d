package policy

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
	"github.com/opencontainers/runtime-spec/specs-go"
	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// call is one syscall as a filter sees it.
type call struct {
	name string // resolved with libseccomp on arch
	nr   int32  // used when name is empty
	arch specs.Arch
	args [6]uint64
}

func sys(name string, args ...uint64) call {
	c := call{name: name}
	copy(c.args[:], args)
	return c
}

func (c call) on(a specs.Arch) call { c.arch = a; return c }

func (c call) String() string {
	s := c.name
	if s == "" {
		s = "nr" + strconv.Itoa(int(c.nr))
	}
	if c.arch != "" {
		s += "@" + strings.TrimPrefix(string(c.arch), "SCMP_ARCH_")
	}
	return s
}

// nativeArch returns the host's architecture or skips the test.
func nativeArch(t testing.TB) specs.Arch {
	t.Helper()
	h, ok := hostArches[runtime.GOARCH]
	if !ok || runtime.GOARCH != "amd64" {
		testenv.Skip(t, "seccomp expectations are written for amd64, this is "+runtime.GOARCH)
	}
	return h.arch
}

// decide runs prog on c and names the outcome: ALLOW, ERRNO(1), ...
func decide(t *testing.T, prog Program, c call) string {
	t.Helper()
	arch := c.arch
	if arch == "" {
		arch = nativeArch(t)
	}
	info := scmpArches[arch]
	nr := c.nr
	if c.name != "" {
		n, err := seccomp.GetSyscallFromNameByArch(c.name, info.arch)
		if err != nil {
			t.Fatalf("libseccomp does not know %s on %s: %v", c.name, arch, err)
		}
		nr = int32(n)
	}
	ret, err := run(prog, seccompData{nr: nr, arch: info.audit, args: c.args})
	if err != nil {
		t.Fatalf("%s: %v", c, err)
	}
	return retName(ret)
}

const (
	allowed = "ALLOW"
	eperm   = "ERRNO(1)"
	enosys  = "ERRNO(38)"
	killed  = "KILL_PROCESS"
)

// blockedByDefault are the syscalls a default container must not make.
var blockedByDefault = []call{
	sys("mount"), sys("umount2"), sys("unshare", unix.CLONE_NEWUSER),
	sys("unshare", unix.CLONE_NEWNS), sys("setns"), sys("keyctl"),
	sys("add_key"), sys("request_key"), sys("io_uring_setup"),
	sys("io_uring_enter"), sys("io_uring_register"), sys("kexec_load"),
	sys("kexec_file_load"), sys("init_module"), sys("finit_module"),
	sys("delete_module"), sys("bpf"), sys("perf_event_open"),
	sys("open_by_handle_at"), sys("swapon"), sys("swapoff"), sys("reboot"),
	sys("settimeofday"), sys("clock_settime"), sys("sethostname"),
	sys("setdomainname"), sys("userfaultfd"), sys("acct"), sys("syslog"),
	sys("iopl"), sys("ioperm"), sys("lookup_dcookie"), sys("fsopen"),
	sys("open_tree"), sys("move_mount"), sys("pidfd_getfd"), sys("kcmp"),
	sys("process_madvise"), sys("mbind"), sys("vhangup"), sys("quotactl"),
	sys("ptrace", unix.PTRACE_ATTACH, 1), sys("process_vm_readv"), sys("process_vm_writev"),
	sys("nfsservctl"), sys("uselib"), sys("ustat"), sys("sysfs"),
	sys("_sysctl"), sys("create_module"), sys("get_kernel_syms"),
	sys("query_module"),
	sys("clone", unix.CLONE_NEWUSER), sys("clone", unix.CLONE_NEWNS|uint64(unix.SIGCHLD)),
	sys("clone", unix.CLONE_NEWNET), sys("clone", unix.CLONE_NEWCGROUP),
	sys("socket", unix.AF_PACKET, unix.SOCK_RAW), sys("socket", unix.AF_VSOCK),
	sys("socket", unix.AF_ALG), sys("socket", unix.AF_DECnet),
	sys("socket", unix.AF_INET|1<<32), // high bits must not smuggle a family
	sys("personality", 0x0040000),     // ADDR_NO_RANDOMIZE
	sys("personality", 0x0400000),     // READ_IMPLIES_EXEC
}

// allowedByDefault are syscalls ordinary programs need.
var allowedByDefault = []call{
	sys("getpid"), sys("read"), sys("write"), sys("openat"), sys("execve"),
	sys("mmap"), sys("futex"), sys("epoll_wait"), sys("accept4"),
	sys("arch_prctl"), sys("modify_ldt"), sys("chroot"),
	sys("clone", uint64(unix.SIGCHLD)), sys("clone", unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND),
	sys("socket", unix.AF_UNIX), sys("socket", unix.AF_INET), sys("socket", unix.AF_INET6),
	sys("socket", unix.AF_NETLINK), sys("socket", unix.AF_INET, unix.SOCK_RAW),
	sys("socket", unix.AF_XDP), sys("socket", unix.AF_MCTP),
	sys("personality", 0), sys("personality", 0xffffffff), sys("personality", 8),
	sys("setuid"), sys("capset"), sys("prctl"), sys("seccomp"), sys("landlock_create_ruleset"),
}

func TestDefaultProfileDecisions(t *testing.T) {
	arch := nativeArch(t)
	prog := compileDefault(t, SeccompConfig{Kernel: KernelVersion{6, 1}}, DefaultCaps())
	for _, c := range blockedByDefault {
		if got := decide(t, prog, c); got != eperm {
			t.Errorf("%s: got %s, want %s", c, got, eperm)
		}
	}
	for _, c := range allowedByDefault {
		if got := decide(t, prog, c); got != allowed {
			t.Errorf("%s: got %s, want %s", c, got, allowed)
		}
	}
	other := []struct {
		c    call
		want string
	}{
		{sys("clone3"), enosys},                       // libc falls back to clone
		{call{nr: 1000}, enosys},                      // unknown: ENOSYS, not EPERM
		{call{nr: 0x3fffffff}, enosys},                // the top of the native range
		{call{nr: 0x40000000}, killed},                // x32 is not allowed
		{sys("getpid").on(specs.ArchX86), killed},     // nor 32-bit x86
		{sys("socketcall").on(specs.ArchX86), killed}, // whose socketcall escapes the family rules
		{call{nr: 20, arch: specs.ArchX86}, killed},   // getpid on i386
		{call{nr: -1}, eperm},                         // the "skipped" syscall of tracers
		{call{nr: 0x7fffffff, arch: arch}, killed},    // in the x32 range
		{sys("io_uring_setup"), eperm},                // known but not allowed: EPERM
		{sys("futex_waitv"), allowed},                 // new enough to be named
		{sys("socket", unix.AF_PACKET, unix.SOCK_DGRAM), eperm},
	}
	for _, tc := range other {
		if got := decide(t, prog, tc.c); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.c, got, tc.want)
		}
	}
}

// TestCapabilityConditionalRules checks that a capability opens exactly
// its syscalls, as Docker's profile does.
func TestCapabilityConditionalRules(t *testing.T) {
	nativeArch(t)
	tests := []struct {
		cap    Cap
		opens  []call
		stills []call // still blocked
	}{
		{unix.CAP_SYS_ADMIN,
			[]call{sys("mount"), sys("umount2"), sys("unshare", unix.CLONE_NEWUSER), sys("setns"), sys("sethostname"),
				sys("clone", unix.CLONE_NEWUSER), sys("clone3"), sys("bpf"), sys("perf_event_open"), sys("fsopen"), sys("syslog")},
			[]call{sys("keyctl"), sys("io_uring_setup"), sys("kexec_load"), sys("init_module"), sys("reboot")}},
		{unix.CAP_SYS_PTRACE, []call{sys("ptrace"), sys("process_vm_readv"), sys("process_vm_writev"), sys("kcmp"), sys("pidfd_getfd"), sys("process_madvise")}, []call{sys("mount")}},
		{unix.CAP_SYS_MODULE, []call{sys("init_module"), sys("finit_module"), sys("delete_module")}, []call{sys("kexec_load")}},
		{unix.CAP_SYS_BOOT, []call{sys("reboot")}, []call{sys("kexec_load")}},
		{unix.CAP_SYS_TIME, []call{sys("settimeofday"), sys("clock_settime")}, []call{sys("mount")}},
		{unix.CAP_SYSLOG, []call{sys("syslog")}, []call{sys("mount")}},
		{unix.CAP_SYS_NICE, []call{sys("mbind"), sys("set_mempolicy"), sys("get_mempolicy")}, nil},
		{unix.CAP_SYS_RAWIO, []call{sys("iopl"), sys("ioperm")}, nil},
		{unix.CAP_SYS_PACCT, []call{sys("acct")}, nil},
		{unix.CAP_SYS_TTY_CONFIG, []call{sys("vhangup")}, nil},
		{unix.CAP_BPF, []call{sys("bpf")}, []call{sys("perf_event_open")}},
		{unix.CAP_PERFMON, []call{sys("perf_event_open")}, []call{sys("bpf")}},
		{unix.CAP_DAC_READ_SEARCH, []call{sys("open_by_handle_at")}, nil},
		{unix.CAP_NET_RAW, []call{sys("socket", unix.AF_PACKET, unix.SOCK_RAW)}, []call{sys("socket", unix.AF_VSOCK)}},
		{unix.CAP_SYS_RESOURCE, nil, []call{sys("mount"), sys("keyctl")}}, // the kernel checks it; no rule
	}
	cfg := SeccompConfig{Kernel: KernelVersion{6, 1}}
	base := compileDefault(t, cfg, DefaultCaps())
	for _, tc := range tests {
		t.Run(tc.cap.String(), func(t *testing.T) {
			prog := compileDefault(t, cfg, DefaultCaps().With(tc.cap))
			for _, c := range tc.opens {
				if got := decide(t, base, c); got == allowed {
					t.Errorf("%s allowed without %s", c, tc.cap)
				}
				if got := decide(t, prog, c); got != allowed {
					t.Errorf("%s with %s: got %s, want ALLOW", c, tc.cap, got)
				}
			}
			for _, c := range tc.stills {
				if got := decide(t, prog, c); got == allowed {
					t.Errorf("%s with %s: allowed, want blocked", c, tc.cap)
				}
			}
		})
	}
}

func TestProfileConditions(t *testing.T) {
	nativeArch(t)
	// Dropping SYS_CHROOT drops chroot.
	noChroot := compileDefault(t, SeccompConfig{Kernel: KernelVersion{6, 1}}, DefaultCaps().Without(unix.CAP_SYS_CHROOT))
	if got := decide(t, noChroot, sys("chroot")); got != eperm {
		t.Errorf("chroot without SYS_CHROOT: got %s, want EPERM", got)
	}
	// minKernel: custom.json allows mount to SYS_ADMIN from 5.4 on; the
	// zero (unknown) kernel satisfies no minKernel.
	admin := DefaultCaps().With(unix.CAP_SYS_ADMIN)
	for kernel, want := range map[KernelVersion]string{{5, 4}: allowed, {6, 1}: allowed, {5, 3}: eperm, {}: eperm} {
		p := goldenProfile(t, SeccompConfig{Profile: "testdata/seccomp/custom.json"})
		p.kernel = kernel
		prog, err := CompileBPF(p, admin)
		if err != nil {
			t.Fatal(err)
		}
		if got := decide(t, prog, sys("mount")); got != want {
			t.Errorf("mount on kernel %s: got %s, want %s", kernel, got, want)
		}
	}
}

func TestCompatArchesOptIn(t *testing.T) {
	nativeArch(t)
	prog := compileDefault(t, SeccompConfig{Kernel: KernelVersion{6, 1}, Arches: []string{"x86"}}, DefaultCaps())
	checks := []struct {
		c    call
		want string
	}{
		{sys("getpid").on(specs.ArchX86), allowed},
		{sys("socketcall").on(specs.ArchX86), allowed}, // the reason this is opt-in
		{sys("mount").on(specs.ArchX86), eperm},
		{call{nr: 1000, arch: specs.ArchX86}, enosys},
		{sys("getpid"), allowed},
		{call{nr: 0x40000000}, killed}, // x32 was not asked for
	}
	for _, tc := range checks {
		if got := decide(t, prog, tc.c); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.c, got, tc.want)
		}
	}
	x32 := compileDefault(t, SeccompConfig{Kernel: KernelVersion{6, 1}, Arches: []string{"SCMP_ARCH_X32"}}, DefaultCaps())
	if got := decide(t, x32, sys("getpid").on(specs.ArchX32)); got != allowed {
		t.Errorf("getpid@x32 with x32 opted in: got %s", got)
	}
	if got := decide(t, x32, call{nr: 0x40000000 + 1000, arch: specs.ArchX32}); got != enosys {
		t.Errorf("unknown x32 syscall: got %s, want ENOSYS", got)
	}
	if _, err := Seccomp(SeccompConfig{Arches: []string{"aarch64"}}); err == nil {
		t.Error("aarch64 accepted as a compat arch of amd64")
	}
}

func TestUnconfined(t *testing.T) {
	p, err := Seccomp(SeccompConfig{Profile: SeccompUnconfined})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Unconfined() || p.Resolve(AllCaps()) != nil {
		t.Fatal("unconfined profile resolves to a filter")
	}
	prog, err := CompileBPF(p, AllCaps())
	if err != nil || prog != nil {
		t.Fatalf("CompileBPF(unconfined) = %v, %v; want nil, nil", prog, err)
	}
}

func TestSeccompProfileSetting(t *testing.T) {
	for _, bad := range []string{"relative/profile.json", "Default", "none"} {
		if _, err := Seccomp(SeccompConfig{Profile: bad}); err == nil {
			t.Errorf("seccomp = %q accepted", bad)
		}
	}
	_, err := Seccomp(SeccompConfig{Profile: "/nonexistent/profile.json"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/profile.json") {
		t.Errorf("missing file: %v", err)
	}
}

func compileDefault(t testing.TB, cfg SeccompConfig, caps CapSet) Program {
	t.Helper()
	p, err := Seccomp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := CompileBPF(p, caps)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}
