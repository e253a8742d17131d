package activation

import (
	"os"
	"path/filepath"
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
	if !spawnAvailable {
		t.Skip("user namespaces need the thread start (cgo)")
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
stat -c '%u:%g %n' /bin/busybox /vol/root-owned /hostids/root-owned
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
		"0:0 /newfile",
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

func TestExecIntoUserNamespaceIsRefused(t *testing.T) {
	cfg, _ := usernsConfig(t, "exec /bin/sleep 600")
	c, err := Start(cfg, StartOptions{})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		_ = unix.Kill(c.Pid, unix.SIGKILL)
		_, _ = c.Wait()
	})
	status, err := Exec(ExecOptions{Config: cfg, Pid: c.Pid, Args: []string{"true"}})
	if err == nil || status != ExitSetupFailed || !strings.Contains(err.Error(), `userns = "host"`) {
		t.Fatalf("exec: %d, %v; want a clear refusal", status, err)
	}
}
