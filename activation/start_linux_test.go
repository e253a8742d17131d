package activation

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/policy"
	"github.com/dockah/dockah/tests/testenv"
)

func TestMain(m *testing.M) {
	// The test binary stands in for the shim: Start re-executes it as
	// the setup stage.
	if IsStage() {
		RunStage()
	}
	if IsInit() {
		RunInit()
	}
	os.Exit(m.Run())
}

// dockerDefaultCaps is Docker's default capability set without NET_RAW.
const dockerDefaultCaps = 1<<0 | 1<<1 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<18 | 1<<27 | 1<<29 | 1<<31

func testConfig(t testing.TB, args ...string) *Config {
	t.Helper()
	lower, store := testenv.BusyboxImage(t)
	initLayer, err := InitLayer(filepath.Join(store, "init"))
	if err != nil {
		t.Fatal(err)
	}
	upper, work, mnt := filepath.Join(store, "upper"), filepath.Join(store, "work"), filepath.Join(store, "mnt")
	for _, d := range []string{upper, work, mnt} {
		// The upper dir's mode is the mode of the container's "/".
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &Config{
		Name: "test",
		Spec: &specs.Spec{
			Process: &specs.Process{
				Args: args, Env: []string{"PATH=/bin"}, Cwd: "/",
				NoNewPrivileges: true,
			},
			Hostname: "testbox",
			Mounts:   testMounts,
			Linux: &specs.Linux{
				Namespaces: []specs.LinuxNamespace{
					{Type: specs.MountNamespace}, {Type: specs.PIDNamespace}, {Type: specs.UTSNamespace},
					{Type: specs.IPCNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.CgroupNamespace},
				},
				MaskedPaths:   []string{"/proc/kcore", "/proc/keys", "/sys/firmware"},
				ReadonlyPaths: []string{"/proc/sys", "/proc/sysrq-trigger"},
			},
		},
		Root:       RootLayers{Lower: []string{initLayer, lower}, Upper: upper, Work: work},
		MountPoint: mnt,
		Files:      map[string]string{"/etc/hostname": "testbox\n", "/etc/hosts": "127.0.0.1 localhost testbox\n"},
		Capabilities: CapabilitySets{
			Bounding: dockerDefaultCaps, Effective: dockerDefaultCaps, Permitted: dockerDefaultCaps,
		},
		LoopbackUp: true,
	}
}

var testMounts = []specs.Mount{
	{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
	{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
	{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
	{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
	{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
}

// run starts cfg with its output to a pipe and waits for it. A pipe is a
// file, so Start builds the container on a thread, as the shim does,
// unless DOCKAH_STAGE_PROCESS=1 (make test-unit runs the package both
// ways).
func run(t *testing.T, cfg *Config) (string, int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		_, _ = out.ReadFrom(r)
		close(copied)
	}()
	c, err := Start(cfg, StartOptions{Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	status, err := c.Wait()
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	<-copied
	return out.String(), status
}

func TestStartRunsIsolatedProcess(t *testing.T) {
	cfg := testConfig(t, "/bin/sh", "-c", `echo pid=$$; hostname; grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; ls /dev; ip link; ls /proc | grep -c '^[0-9]'; cat /etc/hostname; exit 3`)
	out, status := run(t, cfg)
	if status != 3 {
		t.Errorf("exit status %d, want 3\n%s", status, out)
	}
	for _, want := range []string{"pid=1\n", "testbox\n", "CapEff:\t00000000a80405fb", "NoNewPrivs:\t1", "null", "urandom", "pts", "lo:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "eth0") {
		t.Errorf("container sees a host interface:\n%s", out)
	}
}

func TestStartReportsSetupErrors(t *testing.T) {
	cfg := testConfig(t, "/no/such/binary")
	_, err := Start(cfg, StartOptions{})
	if err == nil || !strings.Contains(err.Error(), "/no/such/binary") {
		t.Fatalf("start of a missing entrypoint: %v, want an error naming it", err)
	}
}

func TestStartResolvesUser(t *testing.T) {
	cfg := testConfig(t, "/bin/sh", "-c", "id; grep CapEff /proc/self/status")
	cfg.Spec.Process.User = specs.User{Username: "web"}
	out, status := run(t, cfg)
	if status != 0 {
		t.Fatalf("exit status %d\n%s", status, out)
	}
	if !strings.Contains(out, "uid=1000(web) gid=1000(web) groups=1000(web),2000(extra)") && !strings.Contains(out, "uid=1000") {
		t.Errorf("id output %q", out)
	}
	if !strings.Contains(out, "CapEff:\t0000000000000000") {
		t.Errorf("a non-root user kept capabilities:\n%s", out)
	}
}

// An image without /etc/passwd and /etc/group (FROM scratch) runs as a
// numeric user:group.
func TestStartNumericUserWithoutPasswd(t *testing.T) {
	cfg := testConfig(t, "/bin/sh", "-c", "id -u; id -g")
	image := cfg.Root.Lower[len(cfg.Root.Lower)-1]
	for _, f := range []string{"etc/passwd", "etc/group"} {
		if err := os.Remove(filepath.Join(image, f)); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Spec.Process.User = specs.User{Username: "65534:65533"}
	out, status := run(t, cfg)
	if status != 0 || out != "65534\n65533\n" {
		t.Errorf("exit status %d, output %q; want 65534 and 65533", status, out)
	}
}

func TestInitReapsAndPassesStatus(t *testing.T) {
	if self, _ := os.Executable(); true {
		if dynamic, err := IsDynamic(self); err != nil || dynamic {
			testenv.Skip(t, "init = true needs a statically linked binary; make test-unit links the tests statically")
		}
	}
	cfg := testConfig(t, "/bin/sh", "-c", `echo app=$$; (sleep 0 &) ; ls /proc | grep -c '^[0-9]'; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/1/status; exit 7`)
	cfg.Init = true
	cfg.Seccomp = testSeccomp(t)
	out, status := run(t, cfg)
	// The init holds nothing a container process could take over.
	for _, want := range []string{"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(out, want) {
			t.Errorf("pid 1 (the init) lacks %q:\n%s", want, out)
		}
	}
	if status != 7 {
		t.Errorf("exit status %d, want the entrypoint's 7\n%s", status, out)
	}
	if strings.Contains(out, "app=1\n") || !strings.Contains(out, "app=") {
		t.Errorf("under an init the entrypoint must not be pid 1:\n%s", out)
	}
}

// testSeccomp is the default seccomp program for the default capabilities.
func testSeccomp(t *testing.T) []byte {
	t.Helper()
	profile, err := policy.Seccomp(policy.SeccompConfig{})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := policy.CompileBPF(profile, policy.DefaultCaps())
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func TestSiblingIsChildOfOurParent(t *testing.T) {
	cfg := testConfig(t, "/bin/sh", "-c", "sleep 1")
	c, err := Start(cfg, StartOptions{Sibling: true, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Kill(c.Pid, unix.SIGKILL)
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if ppid := fields[1]; ppid != strconv.Itoa(os.Getppid()) {
		t.Errorf("the container's parent is %s, want the test's parent %d", ppid, os.Getppid())
	}
}

func TestReadOnlyRootGetsMountPoints(t *testing.T) {
	cfg := testConfig(t, "/bin/sh", "-c", `touch /newfile 2>/dev/null && echo root-writable; touch /scratch/x && echo tmpfs-writable; grep ' / ' /proc/self/mountinfo`)
	cfg.Root.Upper, cfg.Root.Work = "", ""
	cfg.Spec.Root = &specs.Root{Path: "rootfs", Readonly: true}
	cfg.Spec.Mounts = append(append([]specs.Mount{}, cfg.Spec.Mounts...), specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs"})
	out, status := run(t, cfg)
	if status != 0 {
		t.Fatalf("exit status %d\n%s", status, out)
	}
	if strings.Contains(out, "root-writable") || !strings.Contains(out, "tmpfs-writable") || !strings.Contains(out, " ro,") {
		t.Errorf("want a read-only root with a writable tmpfs on a mount point the image lacks:\n%s", out)
	}
}
