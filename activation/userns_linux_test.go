package activation

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// usernsConfig is testConfig with a user namespace mapped onto host IDs
// 1000000 and up, and a bind volume of a host directory.
func usernsConfig(t *testing.T, script string) (*Config, string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root: user namespaces with idmapped mounts")
	}
	if !spawnAvailable || os.Getenv(stageProcessEnv) == "1" {
		t.Skip("user namespaces need the thread start (cgo, without DOCKAH_STAGE_PROCESS=1)")
	}
	cfg := testConfig(t, "/bin/sh", "-c", script)
	cfg.UserNS = &IDMapping{UID: 1000000, GID: 2000000, Size: 65536}
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "root-owned"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Spec.Mounts = append(append([]specs.Mount{}, cfg.Spec.Mounts...),
		specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind", "nosuid", "nodev"}},
		specs.Mount{Destination: "/hostids", Type: "bind", Source: vol, Options: []string{"rbind", "nosuid", "nodev", NoIDMapMount}},
	)
	return cfg, vol
}

func TestUserNamespaceMapsRootOntoRange(t *testing.T) {
	cfg, vol := usernsConfig(t, `set -e
cat /proc/self/uid_map /proc/self/gid_map
id -u; id -g
stat -c '%u:%g %n' /bin/busybox /vol/root-owned /hostids/root-owned /dev /dev/shm /dev/pts/ptmx
mkdir /dev/shm/x; sh -c 'exec 3<>/dev/ptmx' 
echo new > /newfile; stat -c '%u:%g %n' /newfile
echo container > /vol/from-container
if echo x >> /hostids/root-owned; then echo WROTE-HOST-ROOT-FILE; fi
grep -E '^Cap(Eff|Bnd)' /proc/self/status`)
	out, status := run(t, cfg)
	if status != 0 {
		t.Fatalf("exit %d:\n%s", status, out)
	}
	t.Log(out)
	for _, want := range []string{
		"0    1000000      65536", "0    2000000      65536", "\n0\n0\n",
		"0:0 /bin/busybox", "0:0 /vol/root-owned", "65534:65534 /hostids/root-owned",
		"0:0 /newfile", "0:0 /dev\n", "0:0 /dev/shm\n",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " ")+"\n", strings.Join(strings.Fields(want), " ")) && !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "WROTE-HOST-ROOT-FILE") {
		t.Errorf("container root wrote a host root file through a volume without idmap:\n%s", out)
	}
	// On the host, the volume keeps the container's IDs (it was
	// idmapped), and the writable layer holds the range's.
	for p, want := range map[string][2]uint32{
		filepath.Join(vol, "from-container"):            {0, 0},
		filepath.Join(cfg.Root.Upper, "newfile"):        {1000000, 2000000},
		cfg.Root.Upper:                                  {1000000, 2000000},
		filepath.Join(cfg.Root.Lower[1], "bin/busybox"): {0, 0},
	} {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != want[0] || st.Gid != want[1] {
			t.Errorf("%s is %d:%d on the host, want %d:%d", p, st.Uid, st.Gid, want[0], want[1])
		}
	}
}

func TestExecJoinsUserNamespace(t *testing.T) {
	cfg, _ := usernsConfig(t, "exec /bin/sleep 600")
	if self, err := os.Executable(); err != nil {
		t.Fatal(err)
	} else if dynamic, err := IsDynamic(self); err != nil || dynamic {
		t.Skip("the exec trampoline runs inside the container's root: it needs a static binary (tests/userns runs make build's shim)")
	}
	c, err := Start(cfg, StartOptions{})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		_ = unix.Kill(c.Pid, unix.SIGKILL)
		_, _ = c.Wait()
	})
	hostMap, err := os.ReadFile("/proc/" + strconv.Itoa(c.Pid) + "/uid_map")
	if err != nil {
		t.Fatal(err)
	}
	script := `cat /proc/self/uid_map; id -u; stat -c '%u %n' /bin/busybox; tr '\0' ' ' < /proc/1/cmdline; echo
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; echo made > /exec-file; stat -c '%u %n' /exec-file; ls /proc/self/fd`
	out, status := execOut(t, ExecOptions{Config: cfg, Pid: c.Pid, Args: []string{"sh", "-c", script}})
	if status != 0 {
		t.Fatalf("exit %d:\n%s", status, out)
	}
	t.Log(out)
	for _, want := range []string{strings.Join(strings.Fields(string(hostMap)), " "), "\n0\n", "0 /bin/busybox", "/bin/sleep 600",
		"CapEff:\t00000000a80405fb", "CapBnd:\t00000000a80405fb", "NoNewPrivs:\t1", "0 /exec-file"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(cfg.Root.Upper, "exec-file"), &st); err != nil || st.Uid != cfg.UserNS.UID {
		t.Errorf("the exec's file is %d on the host (%v), want %d", st.Uid, err, cfg.UserNS.UID)
	}
	// As another user, with its own capability sets.
	out, _ = execOut(t, ExecOptions{Config: cfg, Pid: c.Pid, User: "1000:1000", Args: []string{"sh", "-c", "id -u; grep CapEff /proc/self/status"}})
	if !strings.Contains(out, "1000\n") || !strings.Contains(out, "CapEff:\t0000000000000000") {
		t.Errorf("exec as 1000:\n%s", out)
	}
	// With an SELinux label, the trampoline sets it once in the user
	// namespace, through the container's /proc: a host whose kernel
	// takes no exec label refuses it there, and the command never runs.
	if current, err := os.ReadFile("/proc/self/attr/current"); err == nil && len(current) > 0 && !strings.HasPrefix(string(current), "unconfined") {
		return
	}
	labelled := *cfg
	proc := *cfg.Spec.Process
	proc.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
	labelled.Spec = &specs.Spec{Process: &proc}
	out, status = execOut(t, ExecOptions{Config: &labelled, Pid: c.Pid, Args: []string{"echo", "RAN"}})
	if status == 0 || strings.Contains(out, "RAN") || !strings.Contains(out, "set the SELinux exec label: Invalid argument") {
		t.Errorf("exec with a label on a host without SELinux: exit %d:\n%s", status, out)
	}
}

// TestUserNamespaceInit: under init = true, pid 1 of a container with a
// user namespace is dockah's init, with no capability, and the
// entrypoint pid 2; the init exits with the entrypoint's status.
func TestUserNamespaceInit(t *testing.T) {
	cfg, _ := usernsConfig(t, `echo pid=$$; tr '\0' ' ' < /proc/1/cmdline; echo; grep CapEff /proc/1/status; grep CapEff /proc/self/status; exit 5`)
	if self, err := os.Executable(); err != nil {
		t.Fatal(err)
	} else if dynamic, err := IsDynamic(self); err != nil || dynamic {
		t.Skip("dockah's init is the shim re-executed inside the container's root: it needs a static binary (make test-unit builds one)")
	}
	cfg.Init = true
	out, status := run(t, cfg)
	t.Log(out)
	if status != 5 {
		t.Errorf("exit status %d, want the entrypoint's 5:\n%s", status, out)
	}
	for _, want := range []string{"pid=2\n", "[init test]", "CapEff:\t0000000000000000\nCapEff:\t00000000a80405fb"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// As a user other than root (an image's USER with its STOPSIGNAL):
	// no capability to drop, and nothing to fail on.
	cfg, _ = usernsConfig(t, `id -u; grep CapEff /proc/1/status; exit 3`)
	cfg.Init = true
	cfg.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	out, status = run(t, cfg)
	if status != 3 || !strings.Contains(out, "1000\nCapEff:\t0000000000000000") {
		t.Errorf("init as uid 1000: exit %d, want 3:\n%s", status, out)
	}
}

func TestOwnedByRange(t *testing.T) {
	b := &usernsBuild{m: &IDMapping{UID: 100000, GID: 200000, Size: 65536}}
	for _, tt := range []struct{ fstype, in, want string }{
		{"tmpfs", "mode=755,size=65536k", "mode=755,size=65536k,uid=100000,gid=200000"},
		{"tmpfs", "", "uid=100000,gid=200000"},
		{"tmpfs", "uid=1000,mode=700", "uid=101000,mode=700,gid=200000"},
		{"tmpfs", "uid=70000", "uid=70000,gid=200000"}, // outside the range: left for the kernel to refuse or take
		{"devpts", "newinstance,ptmxmode=0666,mode=0620,gid=5", "newinstance,ptmxmode=0666,mode=0620,gid=200005"},
		{"devpts", "newinstance", "newinstance"},
		{"mqueue", "", ""},
		{"proc", "hidepid=2", "hidepid=2"},
	} {
		if got := b.ownedByRange(tt.fstype, tt.in); got != tt.want {
			t.Errorf("ownedByRange(%s, %q) = %q, want %q", tt.fstype, tt.in, got, tt.want)
		}
	}
}

// TestUserNamespaceSetsExecLabel: a container with an SELinux label and a
// user namespace takes the thread start, whose pid 1 writes the label to
// its own /proc/thread-self/attr/exec before it joins the user
// namespace. On a host with SELinux that is the exec label; on one
// without (no security module takes attr/exec) the kernel refuses it with
// EINVAL, which shows the step ran in pid 1 and stopped the entrypoint.
func TestUserNamespaceSetsExecLabel(t *testing.T) {
	cfg, _ := usernsConfig(t, "echo ran")
	cfg.Spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
	if !canStartOnThread(cfg, StartOptions{}) {
		t.Fatal("a labelled container with a user namespace does not take the thread start")
	}
	if current, err := os.ReadFile("/proc/self/attr/current"); err == nil && len(current) > 0 && !strings.HasPrefix(string(current), "unconfined") {
		t.Skipf("this host has a security module (%q): the label would be set or refused by its policy", current)
	}
	c, err := Start(cfg, StartOptions{})
	if err == nil {
		_ = unix.Kill(c.Pid, unix.SIGKILL)
		_, _ = c.Wait()
		if data, rerr := os.ReadFile("/proc/self/attr/exec"); rerr == nil && len(data) == 0 {
			t.Fatal("the container started with a label on a host whose kernel takes no exec label")
		}
		return
	}
	if !strings.Contains(err.Error(), "set the SELinux exec label: invalid argument") {
		t.Fatalf("start: %v, want the pid 1's label step and the kernel's EINVAL", err)
	}
}

// TestUserNamespaceVolumeWithoutIDMap: a bind volume on overlayfs, which
// cannot be idmapped, fails the start with an error that names the
// volume, its source, the file system and the three ways out; marked
// chown = true (its files given to the range before the start, by
// launch) it is mounted as it is.
func TestUserNamespaceVolumeWithoutIDMap(t *testing.T) {
	cfg, _ := usernsConfig(t, "stat -c '%u %n' /ovl/f")
	dir := t.TempDir()
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(dir, "merged")
	opts := "lowerdir=" + filepath.Join(dir, "lower") + ",upperdir=" + filepath.Join(dir, "upper") + ",workdir=" + filepath.Join(dir, "work")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("no overlayfs to test with: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(merged, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	base := cfg.Spec.Mounts
	cfg.Spec.Mounts = append(slices.Clip(base), specs.Mount{Destination: "/ovl", Type: "bind", Source: merged, Options: []string{"rbind", "nosuid", "nodev"}})
	_, err := Start(cfg, StartOptions{})
	if err == nil {
		t.Fatal("a volume on overlayfs was idmapped")
	}
	for _, want := range []string{"mount " + merged + " on /ovl", "its file system (overlayfs) does not support idmapped mounts",
		"set chown = true on this [[volume]]", "idmap = false", `userns = "host"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if err := os.Lchown(filepath.Join(merged, "f"), int(cfg.UserNS.UID)+7, int(cfg.UserNS.GID)+7); err != nil {
		t.Fatal(err)
	}
	cfg.Spec.Mounts = append(slices.Clip(base), specs.Mount{Destination: "/ovl", Type: "bind", Source: merged, Options: []string{"rbind", "nosuid", "nodev", chownMount, NoIDMapMount}})
	out, status := run(t, cfg)
	if status != 0 || !strings.Contains(out, "7 /ovl/f") {
		t.Errorf("chown volume: exit %d, want the range's 7 as the container's 7:\n%s", status, out)
	}
}
