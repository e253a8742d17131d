package policy

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/dockah/dockah/tests/testenv"
	"golang.org/x/sys/unix"
)

// The privileged test: a child process (this test binary, re-executed)
// loads a cached program exactly as the shim will (no_new_privs, then
// seccomp(2) on the thread that goes on), then attempts each attack and
// reports the errno. The loading code lives here only; policy itself has
// no function that applies a filter.

const (
	envProg = "DOCKAH_POLICY_TEST_PROG" // cache file to load, or "" for none
	envKey  = "DOCKAH_POLICY_TEST_KEY"  // its key, hex
)

func init() { children["seccomp-attacks"] = seccompAttacksChild }

// attack is one syscall a container might try. Every argument is chosen
// so that, if the filter let it through, the kernel would refuse it
// harmlessly (bad magic, a missing path, an invalid flag combination).
type attack struct {
	name string
	try  func() unix.Errno
}

var nonexistent = bytePtr("/nonexistent-dockah-test")

// noSuchPid is above pid_max, so no process can have it.
const noSuchPid = 1 << 30

func bytePtr(s string) uintptr {
	p, _ := unix.BytePtrFromString(s)
	return uintptr(unsafe.Pointer(p))
}

func raw(nr uintptr, args ...uintptr) unix.Errno {
	var a [6]uintptr
	copy(a[:], args)
	r, _, e := unix.RawSyscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if e == 0 && (nr == unix.SYS_SOCKET || nr == unix.SYS_USERFAULTFD) {
		unix.Close(int(r))
	}
	return e
}

var attacks = []attack{
	{"getpid", func() unix.Errno { return raw(unix.SYS_GETPID) }},
	{"socket-inet", func() unix.Errno { return raw(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM) }},
	{"mount", func() unix.Errno { return raw(unix.SYS_MOUNT, bytePtr("none"), nonexistent, bytePtr("tmpfs")) }},
	{"umount2", func() unix.Errno { return raw(unix.SYS_UMOUNT2, nonexistent) }},
	{"unshare-user", func() unix.Errno { return raw(unix.SYS_UNSHARE, unix.CLONE_NEWUSER) }},
	{"clone-newuser", func() unix.Errno { return raw(unix.SYS_CLONE, unix.CLONE_NEWUSER|unix.CLONE_FS) }}, // EINVAL if allowed
	{"clone3", func() unix.Errno { return raw(unix.SYS_CLONE3, 0, 0) }},
	{"keyctl", func() unix.Errno {
		return raw(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd)) // KEY_SPEC_SESSION_KEYRING
	}},
	{"add_key", func() unix.Errno { return raw(unix.SYS_ADD_KEY, 0, 0, 0, 0, 0) }},
	{"io_uring_setup", func() unix.Errno { return raw(unix.SYS_IO_URING_SETUP, 0, 0) }},
	{"socket-packet", func() unix.Errno { return raw(unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_RAW) }},
	{"socket-vsock", func() unix.Errno { return raw(unix.SYS_SOCKET, unix.AF_VSOCK, unix.SOCK_STREAM) }},
	{"reboot", func() unix.Errno { return raw(unix.SYS_REBOOT, 0, 0, 0) }}, // bad magic: EINVAL if allowed
	{"sethostname", func() unix.Errno { return raw(unix.SYS_SETHOSTNAME, bytePtr("x"), 65) }},
	{"settimeofday", func() unix.Errno { return raw(unix.SYS_SETTIMEOFDAY, 0, 0) }}, // a no-op if allowed
	{"bpf", func() unix.Errno { return raw(unix.SYS_BPF, 0xffff, 0, 0) }},
	{"perf_event_open", func() unix.Errno { return raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0)) }},
	{"swapon", func() unix.Errno { return raw(unix.SYS_SWAPON, 0, 0) }},
	{"personality", func() unix.Errno { return raw(unix.SYS_PERSONALITY, 0x0040000) }},
	{"ptrace", func() unix.Errno { return raw(unix.SYS_PTRACE, unix.PTRACE_ATTACH, noSuchPid) }}, // ESRCH if allowed
	{"process_vm_readv", func() unix.Errno { return raw(unix.SYS_PROCESS_VM_READV, noSuchPid) }}, // no iovecs: 0 if allowed
	{"nr-1000", func() unix.Errno { return raw(1000) }},
}

// seccompAttacksChild runs in the child: load, attack, report.
func seccompAttacksChild() error {
	// The filter binds this thread; the attacks must run on it.
	runtime.LockOSThread()
	if path := os.Getenv(envProg); path != "" {
		var key [32]byte
		if _, err := hex.Decode(key[:], []byte(os.Getenv(envKey))); err != nil {
			return err
		}
		prog, err := readCached(path, key)
		if err != nil {
			return fmt.Errorf("read cached program: %w", err)
		}
		// Without no_new_privs only CAP_SYS_ADMIN may install a filter,
		// and a setuid exec could shed it; the shim sets it the same way.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
		fprog := prog.SockFprog()
		if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(fprog))); e != 0 {
			return fmt.Errorf("seccomp: %w", e)
		}
		runtime.KeepAlive(fprog)
	}
	var out bytes.Buffer
	for _, a := range attacks {
		fmt.Fprintf(&out, "%s=%d\n", a.name, int(a.try()))
	}
	_, err := os.Stdout.Write(out.Bytes())
	return err
}

// runAttacks loads prog (nil: no filter) in a child and returns the errno
// of each attack.
func runAttacks(t *testing.T, dir string, key [32]byte, loaded bool) map[string]unix.Errno {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=seccomp-attacks", envProg+"=", envKey+"=")
	if loaded {
		path := filepath.Join(dir, hex.EncodeToString(key[:])+cacheSuffix)
		cmd.Env = append(cmd.Env, envProg+"="+path, envKey+"="+hex.EncodeToString(key[:]))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.Bytes())
	}
	got := map[string]unix.Errno{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, num, _ := strings.Cut(sc.Text(), "=")
		n, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		got[name] = unix.Errno(n)
	}
	if len(got) != len(attacks) {
		t.Fatalf("child reported %d attacks, want %d:\n%s\n%s", len(got), len(attacks), out, stderr.Bytes())
	}
	return got
}

func TestSeccompLoadedInChild(t *testing.T) {
	testenv.RequireRoot(t)
	nativeArch(t)
	dir := t.TempDir()
	load := func(t *testing.T, cfg SeccompConfig, caps CapSet) map[string]unix.Errno {
		p := goldenProfile(t, cfg)
		if _, hit, err := CachedBPF(dir, p, caps); err != nil || hit {
			t.Fatalf("fill the cache: hit=%v err=%v", hit, err)
		}
		return runAttacks(t, dir, p.cacheKey(caps), !p.Unconfined())
	}
	const ok = unix.Errno(0)
	eperm, enosys := unix.EPERM, unix.ENOSYS

	def := load(t, SeccompConfig{}, DefaultCaps())
	expect(t, "default", def, map[string]unix.Errno{
		"getpid": ok, "socket-inet": ok, "mount": eperm, "umount2": eperm,
		"unshare-user": eperm, "clone-newuser": eperm, "clone3": enosys,
		"keyctl": eperm, "add_key": eperm, "io_uring_setup": eperm,
		"socket-packet": eperm, "socket-vsock": eperm, "reboot": eperm,
		"sethostname": eperm, "settimeofday": eperm, "bpf": eperm,
		"perf_event_open": eperm, "swapon": eperm, "personality": eperm,
		"ptrace": eperm, "process_vm_readv": eperm, "nr-1000": enosys,
	})

	// CAP_SYS_ADMIN opens what Docker opens with it, and nothing else.
	admin := load(t, SeccompConfig{}, DefaultCaps().With(unix.CAP_SYS_ADMIN))
	expect(t, "default+SYS_ADMIN", admin, map[string]unix.Errno{
		"mount": unix.ENOENT, "umount2": unix.ENOENT, "sethostname": unix.EINVAL,
		"clone-newuser": unix.EINVAL, "keyctl": eperm, "io_uring_setup": eperm,
		"socket-packet": eperm, "reboot": eperm, "nr-1000": enosys,
	})

	// The negative control: with no filter the same child sees the
	// kernel's own answers, so the suite would notice a filter that does
	// nothing.
	none := load(t, SeccompConfig{Profile: SeccompUnconfined}, AllCaps())
	expect(t, "unconfined", none, map[string]unix.Errno{
		"getpid": ok, "mount": unix.ENOENT, "umount2": unix.ENOENT,
		"clone-newuser": unix.EINVAL, "keyctl": ok, "socket-packet": ok,
		"reboot": unix.EINVAL, "sethostname": unix.EINVAL, "settimeofday": ok,
		"bpf": unix.EINVAL, "personality": ok, "ptrace": unix.ESRCH,
		"process_vm_readv": ok, // nothing to copy
	})
	for _, a := range []string{"clone3", "add_key", "io_uring_setup", "swapon", "perf_event_open"} {
		if none[a] == def[a] {
			t.Errorf("unconfined %s: %v, the same as under the default filter", a, none[a])
		}
	}

	// A custom deny-list profile: allow by default, no ENOSYS stub.
	deny := load(t, SeccompConfig{Profile: "testdata/seccomp/denylist.json"}, DefaultCaps())
	expect(t, "denylist", deny, map[string]unix.Errno{
		"getpid": ok, "mount": unix.ENOENT, "keyctl": eperm, "add_key": eperm,
		"socket-vsock": unix.EAFNOSUPPORT, "socket-inet": ok, "nr-1000": enosys,
	})
}

func expect(t *testing.T, config string, got, want map[string]unix.Errno) {
	t.Helper()
	for name, w := range want {
		if g := got[name]; g != w {
			t.Errorf("%s: %s: got %v (%d), want %v (%d)", config, name, errText(g), int(g), errText(w), int(w))
		}
	}
}

func errText(e unix.Errno) string {
	if e == 0 {
		return "success"
	}
	return syscall.Errno(e).Error()
}
