package userns

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

const image = "uns:test"

var setupOnce sync.Once

// usernsBox imports the test image, once for the package: busybox, and
// /data owned by app (uid 1000) for a named volume to start with.
func usernsBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() {
		entries := append(images.Busybox(t, "sh", "cat", "ls", "id", "stat", "sleep", "touch", "echo", "chown", "su", "grep"),
			images.Entry{Name: "data", Dir: true, Mode: 0o755, UID: 1000, GID: 1000},
			images.Entry{Name: "data/seed.txt", Data: []byte("seed\n"), Mode: 0o644, UID: 1000, GID: 1000},
			images.Entry{Name: "tmp", Dir: true, Mode: 0o1777},
		)
		images.Import(t, b, image, entries)
	})
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// define writes the definition of the container name and reloads; the
// cleanup stops it and removes it with its state.
func define(t *testing.T, b *box.Box, name, text string) {
	t.Helper()
	path := "/etc/dockah/containers/" + name + ".toml"
	if err := b.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = b.Systemctl("stop", name+".service")
		_ = b.Exec(t, "", "dockah", "rm", "-f", name)
		_ = os.Remove(b.Path(path))
		_, _ = b.Systemctl("daemon-reload")
		_, _ = b.Systemctl("reset-failed", name+".service")
	})
}

// sleeper is a container that sleeps, with the default user namespace
// (userns = "auto") and extra text in its [security] table.
func sleeper(extra string) string {
	return "[container]\nimage = \"" + image + "\"\nentrypoint = [\"/bin/sh\", \"-c\", \"touch /made-by-root; exec sleep 600\"]\n\n[service]\nstop_signal = \"SIGKILL\"\n\n[security]\n" + extra
}

// start starts name and returns the main pid (in the box's pid
// namespace).
func start(t *testing.T, b *box.Box, name string) int {
	t.Helper()
	if out, err := b.Systemctl("start", name+".service"); err != nil {
		journal, _ := b.Journal(name + ".service")
		t.Fatalf("start %s: %v\n%s\n%s", name, err, out, journal)
	}
	pid, err := b.Property(name+".service", "MainPID")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n == 0 {
		t.Fatalf("%s: MainPID %q", name, pid)
	}
	return n
}

// idMap is a single-line uid_map or gid_map: container ID 0 is host ID
// Host, for Size IDs.
type idMap struct{ Host, Size uint64 }

func readMap(t *testing.T, b *box.Box, pid int, file string) idMap {
	t.Helper()
	r := b.Exec(t, "", "cat", fmt.Sprintf("/proc/%d/%s", pid, file))
	f := strings.Fields(r.Stdout)
	if r.Status != 0 || len(f) != 3 || f[0] != "0" {
		t.Fatalf("/proc/%d/%s: %q (%s)", pid, file, r.Stdout, r.Stderr)
	}
	host, _ := strconv.ParseUint(f[1], 10, 32)
	size, _ := strconv.ParseUint(f[2], 10, 32)
	return idMap{host, size}
}

func (m idMap) overlaps(o idMap) bool { return m.Host < o.Host+o.Size && o.Host < m.Host+m.Size }

// registry reads the store's record of ranges.
func registry(t *testing.T, b *box.Box) map[string]struct{ UID, GID, Size uint64 } {
	t.Helper()
	var f struct {
		Containers map[string]struct{ UID, GID, Size uint64 } `json:"containers"`
	}
	data, err := os.ReadFile(filepath.Join(b.StoreDir(), "userns", "ranges.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f.Containers
}

// TestRootIsAnUnprivilegedHostRange: the container's root is a range of
// host IDs no one else has, the same across restarts; inspect shows it
// and rm frees it.
func TestRootIsAnUnprivilegedHostRange(t *testing.T) {
	b := usernsBox(t)
	define(t, b, "uns-a", sleeper(""))
	define(t, b, "uns-b", sleeper("userns_size = 1000\n"))
	pidA := start(t, b, "uns-a")
	uidA, gidA := readMap(t, b, pidA, "uid_map"), readMap(t, b, pidA, "gid_map")
	if uidA.Size != 65536 || uidA.Host < 524288 || gidA.Size != 65536 || gidA.Host < 524288 {
		t.Fatalf("uns-a maps uid %+v gid %+v, want 65536 IDs from systemd's container range (524288 and up)", uidA, gidA)
	}
	// Seen from the host: ps and /proc/PID's owner are the range's root.
	ps := b.Exec(t, "", "ps", "-o", "uid=,gid=", "-p", strconv.Itoa(pidA))
	if got, want := strings.Fields(ps.Stdout), []string{strconv.FormatUint(uidA.Host, 10), strconv.FormatUint(gidA.Host, 10)}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ps shows uid gid %v, want %v (%s)", got, want, ps.Stderr)
	}
	// The writable layer holds the range's IDs.
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(b.StoreDir(), "containers", "uns-a", "upper", "made-by-root"), &st); err != nil {
		t.Fatal(err)
	}
	if uint64(st.Uid) != uidA.Host || uint64(st.Gid) != gidA.Host {
		t.Errorf("a file container root made is %d:%d on the host, want %d:%d", st.Uid, st.Gid, uidA.Host, gidA.Host)
	}

	pidB := start(t, b, "uns-b")
	uidB := readMap(t, b, pidB, "uid_map")
	if uidB.Size != 1000 || uidB.overlaps(uidA) {
		t.Errorf("uns-b maps %+v, uns-a %+v: want 1000 IDs apart from uns-a's", uidB, uidA)
	}

	var in []struct {
		UserNS struct {
			Mode, UIDMap, GIDMap, RunningUIDMap string
		} `json:"userns"`
	}
	if err := json.Unmarshal([]byte(b.Dockah(t, "inspect", "uns-a")), &in); err != nil || len(in) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	want := fmt.Sprintf("0 %d %d", uidA.Host, uidA.Size)
	if u := in[0].UserNS; u.Mode != "auto" || u.UIDMap != want || u.RunningUIDMap != want {
		t.Errorf("inspect shows %+v, want mode auto and uid map %q", u, want)
	}

	// Stable across a restart.
	if _, err := b.Systemctl("restart", "uns-a.service"); err != nil {
		t.Fatal(err)
	}
	pidA = start(t, b, "uns-a")
	if again := readMap(t, b, pidA, "uid_map"); again != uidA {
		t.Errorf("after a restart uns-a maps %+v, before %+v", again, uidA)
	}
	// rm frees the range.
	if _, err := b.Systemctl("stop", "uns-a.service"); err != nil {
		t.Fatal(err)
	}
	b.Dockah(t, "rm", "uns-a")
	if _, ok := registry(t, b)["uns-a"]; ok {
		t.Errorf("uns-a still holds a range after dockah rm: %v", registry(t, b))
	}
	if _, ok := registry(t, b)["uns-b"]; !ok {
		t.Errorf("uns-b lost its range when uns-a was removed")
	}
}

// TestTwentyRangesOneCopyOfTheImage: twenty containers of one image, each
// with its own range, and the store still holds one copy of each layer.
func TestTwentyRangesOneCopyOfTheImage(t *testing.T) {
	b := usernsBox(t)
	layersBefore := countLayers(t, b)
	var maps []idMap
	for i := range 20 {
		name := fmt.Sprintf("uns-many-%02d", i)
		define(t, b, name, sleeper(""))
		pid := start(t, b, name)
		m := readMap(t, b, pid, "uid_map")
		for j, o := range maps {
			if m.overlaps(o) {
				t.Errorf("%s maps %+v, overlapping uns-many-%02d's %+v", name, m, j, o)
			}
		}
		maps = append(maps, m)
		r := b.Exec(t, "", "nsenter", "-t", strconv.Itoa(pid), "-m", "-U", "--preserve-credentials", "stat", "-c", "%u", "/bin/busybox")
		if r.Status == 0 && strings.TrimSpace(r.Stdout) != "0" {
			t.Errorf("%s sees /bin/busybox owned by %q, want 0", name, r.Stdout)
		}
	}
	if after := countLayers(t, b); after != layersBefore {
		t.Errorf("the store has %d layers after 20 containers with 20 ranges, %d before", after, layersBefore)
	}
}

func countLayers(t *testing.T, b *box.Box) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(b.StoreDir(), "layers"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestVolumes: a named volume is idmapped (the store keeps the
// container's IDs, as the image had them); a bind volume with
// idmap = false keeps host root's file out of the container root's reach;
// a bind volume on a file system that cannot be idmapped (the box's own
// root is an overlayfs) fails the start with a message that says what to
// do.
func TestVolumes(t *testing.T) {
	b := usernsBox(t)
	const hostDir = "/opt/uns-host"
	if err := b.WriteFile(hostDir+"/owned-by-host-root", []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `set -e
echo root > /data/by-root
su -s /bin/sh app -c 'echo app > /data/by-app' 2>/dev/null || chown 1000:1000 /data/by-root
stat -c '%u:%g %n' /data/seed.txt /hostroot/owned-by-host-root
if echo x >> /hostroot/owned-by-host-root; then echo WROTE-HOST-ROOT; fi`
	define(t, b, "uns-vol", "[container]\nimage = \""+image+"\"\nentrypoint = [\"/bin/sh\", \"-c\", \""+strings.ReplaceAll(strings.ReplaceAll(script, `\`, `\\`), "\n", `\n`)+"\"]\n\n[security]\nuserns = \"auto\"\n\n[[volume]]\nsource = \"unsdata\"\ntarget = \"/data\"\n\n[[volume]]\nsource = \""+hostDir+"\"\ntarget = \"/hostroot\"\nidmap = false\n")
	t.Cleanup(func() { _ = b.Exec(t, "", "dockah", "volume", "rm", "unsdata") })
	if _, err := b.Systemctl("start", "uns-vol.service"); err != nil {
		journal, _ := b.Journal("uns-vol.service")
		t.Fatalf("start: %v\n%s", err, journal)
	}
	if err := b.WaitUnitState("uns-vol.service", 30*time.Second, "inactive", "failed"); err != nil {
		t.Fatal(err)
	}
	journal, _ := b.Journal("uns-vol.service")
	for _, want := range []string{"1000:1000 /data/seed.txt", "65534:65534 /hostroot/owned-by-host-root"} {
		if !strings.Contains(journal, want) {
			t.Errorf("the container did not see %q:\n%s", want, journal)
		}
	}
	if strings.Contains(journal, "WROTE-HOST-ROOT") {
		t.Errorf("container root wrote host root's file through a volume:\n%s", journal)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(b.StoreDir(), "volumes", "unsdata", "_data", "by-root"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 0 && st.Uid != 1000 {
		t.Errorf("the named volume's file is owned by %d on the host, want the container's ID (0 or 1000)", st.Uid)
	}
	if data, _ := os.ReadFile(b.Path(hostDir + "/owned-by-host-root")); string(data) != "host\n" {
		t.Errorf("host root's file changed: %q", data)
	}

	// A bind volume on the box's overlayfs root, idmapped by default.
	define(t, b, "uns-badbind", sleeper("\n[[volume]]\nsource = \""+hostDir+"\"\ntarget = \"/hostroot\"\n"))
	if _, err := b.Systemctl("start", "uns-badbind.service"); err == nil {
		t.Fatalf("a bind volume that cannot be idmapped started")
	}
	journal, _ = b.Journal("uns-badbind.service")
	for _, want := range []string{"mount " + hostDir + " on /hostroot", "its file system (overlayfs) does not support idmapped mounts",
		"set chown = true on this [[volume]]", "idmap = false", `userns = \"host\"`} {
		if !strings.Contains(journal, want) && !strings.Contains(journal, strings.ReplaceAll(want, `\"`, `"`)) {
			t.Errorf("the failure does not say %q:\n%s", want, journal)
		}
	}
}

// TestChownVolume: a bind volume on the box's overlayfs root with
// chown = true is given to the container's range once (the container sees
// its files with the IDs it had on the host), not walked again at the
// next start, and given back to the host's IDs with userns = "host".
func TestChownVolume(t *testing.T) {
	b := usernsBox(t)
	const dir = "/opt/uns-chown"
	for _, f := range []string{"by-root", "sub/by-app"} {
		if err := b.WriteFile(dir+"/"+f, []byte(f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(b.Path(dir+"/sub/by-app"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", b.Path(dir+"/link")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(b.Path(dir)) })
	const name = "uns-chown"
	vol := "\n[[volume]]\nsource = \"" + dir + "\"\ntarget = \"/v\"\nchown = true\n"
	define(t, b, name, sleeper(vol))
	pid := start(t, b, name)
	m := readMap(t, b, pid, "uid_map")
	owner := func(f string) uint64 {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(b.Path(dir+"/"+f), &st); err != nil {
			t.Fatal(err)
		}
		return uint64(st.Uid)
	}
	for f, want := range map[string]uint64{"": m.Host, "by-root": m.Host, "sub/by-app": m.Host + 1000, "link": m.Host} {
		if got := owner(f); got != want {
			t.Errorf("%s/%s is %d on the host, want %d", dir, f, got, want)
		}
	}
	var passwd unix.Stat_t
	if err := unix.Stat(b.Path("/etc/passwd"), &passwd); err != nil || passwd.Uid != 0 {
		t.Errorf("the link's target changed owner: %d %v", passwd.Uid, err)
	}
	r := b.Exec(t, "", "dockah", "exec", name, "stat", "-c", "%u %n", "/v/by-root", "/v/sub/by-app")
	if !strings.Contains(r.Stdout, "0 /v/by-root") || !strings.Contains(r.Stdout, "1000 /v/sub/by-app") {
		t.Errorf("inside, the volume's owners are %q (%s)", r.Stdout, r.Stderr)
	}
	// Recorded: the next start does not walk the tree again.
	if _, err := b.Systemctl("stop", name+".service"); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(b.Path(dir+"/by-root"), 0, 0); err != nil {
		t.Fatal(err)
	}
	start(t, b, name)
	if got := owner("by-root"); got != 0 {
		t.Errorf("the second start walked the volume again (by-root is %d)", got)
	}
	// Back to the host's IDs.
	if _, err := b.Systemctl("stop", name+".service"); err != nil {
		t.Fatal(err)
	}
	define(t, b, name, sleeper("userns = \"host\"\n"+vol))
	start(t, b, name)
	if got, app := owner("sub/by-app"), owner(""); got != 1000 || app != 0 {
		t.Errorf("with userns = \"host\" the volume is %d (sub/by-app %d), want 0 and 1000", app, got)
	}
}

// TestSystemSubids: dockah system subids writes the "containers" entry
// of the box's /etc/subuid and /etc/subgid, and a container's range is
// inside it.
func TestSystemSubids(t *testing.T) {
	b := usernsBox(t)
	out := b.Dockah(t, "system", "subids")
	entry := func(file string) idMap {
		t.Helper()
		data, err := os.ReadFile(b.Path(file))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Split(line, ":"); len(f) == 3 && f[0] == "containers" {
				start, _ := strconv.ParseUint(f[1], 10, 32)
				size, _ := strconv.ParseUint(f[2], 10, 32)
				return idMap{start, size}
			}
		}
		t.Fatalf("%s has no containers entry after dockah system subids (%s):\n%s", file, out, data)
		return idMap{}
	}
	uids, gids := entry("/etc/subuid"), entry("/etc/subgid")
	if uids.Host < 524288 || gids.Host < 524288 {
		t.Errorf("entries %+v %+v reach below systemd's container range", uids, gids)
	}
	define(t, b, "uns-subids", sleeper(""))
	pid := start(t, b, "uns-subids")
	for _, c := range []struct {
		file string
		pool idMap
	}{{"uid_map", uids}, {"gid_map", gids}} {
		m := readMap(t, b, pid, c.file)
		if m.Host < c.pool.Host || m.Host+m.Size > c.pool.Host+c.pool.Size {
			t.Errorf("%s %+v is outside the entry %+v", c.file, m, c.pool)
		}
	}
	if again := b.Dockah(t, "system", "subids"); !strings.Contains(again, "(present)") || strings.Contains(again, "(added)") {
		t.Errorf("a second run:\n%s", again)
	}
}

// TestInitInUserNamespace: under init = true, pid 1 is dockah's init
// (the shim re-executed, without capabilities), the entrypoint its
// child, and systemctl stop reaches the entrypoint through it.
func TestInitInUserNamespace(t *testing.T) {
	b := usernsBox(t)
	define(t, b, "uns-init", "[container]\nimage = \""+image+"\"\ninit = true\nentrypoint = [\"/bin/sleep\", \"600\"]\n\n[security]\nuserns = \"auto\"\n")
	pid := start(t, b, "uns-init")
	cmdline := b.Exec(t, "", "cat", fmt.Sprintf("/proc/%d/cmdline", pid)).Stdout
	if !strings.Contains(cmdline, "[init uns-init]") {
		t.Errorf("pid 1 is %q, want dockah's init", cmdline)
	}
	status := b.Exec(t, "", "cat", fmt.Sprintf("/proc/%d/status", pid)).Stdout
	if !strings.Contains(status, "CapEff:\t0000000000000000") || !strings.Contains(status, "CapBnd:\t0000000000000000") {
		t.Errorf("dockah's init holds capabilities:\n%s", status)
	}
	if m := readMap(t, b, pid, "uid_map"); m.Host < 524288 {
		t.Errorf("the init maps %+v", m)
	}
	began := time.Now()
	if _, err := b.Systemctl("stop", "uns-init.service"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("systemctl stop took %s: SIGTERM did not reach the entrypoint", took)
	}
}

// TestExecJoinsTheUserNamespace: dockah exec runs its command in the
// container's user namespace, as the container's root (or user), with
// its policy.
func TestExecJoinsTheUserNamespace(t *testing.T) {
	b := usernsBox(t)
	define(t, b, "uns-exec", sleeper(""))
	pid := start(t, b, "uns-exec")
	want := readMap(t, b, pid, "uid_map")
	r := b.Exec(t, "", "dockah", "exec", "uns-exec", "sh", "-c", "cat /proc/self/uid_map; id -u; grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status; touch /made-by-exec")
	if r.Status != 0 {
		t.Fatalf("dockah exec: status %d\n%s%s", r.Status, r.Stdout, r.Stderr)
	}
	f := strings.Fields(r.Stdout)
	if len(f) < 4 || f[1] != strconv.FormatUint(want.Host, 10) || f[3] != "0" {
		t.Errorf("dockah exec ran with %q, want the container's map %+v and uid 0", r.Stdout, want)
	}
	initStatus := b.Exec(t, "", "cat", fmt.Sprintf("/proc/%d/status", pid)).Stdout
	capEff := ""
	for _, line := range strings.Split(initStatus, "\n") {
		if strings.HasPrefix(line, "CapEff:") {
			capEff = line
		}
	}
	for _, s := range []string{"Seccomp:\t2", "NoNewPrivs:\t1", capEff} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("dockah exec lacks %q:\n%s", s, r.Stdout)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(b.StoreDir(), "containers", "uns-exec", "upper", "made-by-exec"), &st); err != nil || uint64(st.Uid) != want.Host {
		t.Errorf("the exec's file is %d on the host (%v), want %d", st.Uid, err, want.Host)
	}
	r = b.Exec(t, "", "dockah", "exec", "-u", "1000", "uns-exec", "id", "-u")
	if r.Status != 0 || strings.TrimSpace(r.Stdout) != "1000" {
		t.Errorf("dockah exec -u 1000: status %d, %q %s", r.Status, r.Stdout, r.Stderr)
	}
}

// TestCommitIsUnshifted: an image committed from a container with a
// user namespace has the container's IDs, not the range's.
func TestCommitIsUnshifted(t *testing.T) {
	b := usernsBox(t)
	define(t, b, "uns-commit", sleeper(""))
	start(t, b, "uns-commit")
	if _, err := b.Systemctl("stop", "uns-commit.service"); err != nil {
		t.Fatal(err)
	}
	b.Dockah(t, "commit", "uns-commit", "uns-committed:test")
	t.Cleanup(func() { _ = b.Exec(t, "", "dockah", "image", "rm", "uns-committed:test") })
	define(t, b, "uns-from-commit", "[container]\nimage = \"uns-committed:test\"\nentrypoint = [\"/bin/stat\", \"-c\", \"owner=%u:%g\", \"/made-by-root\"]\n\n[security]\nuserns = \"host\"\n")
	if _, err := b.Systemctl("start", "uns-from-commit.service"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitUnitState("uns-from-commit.service", 30*time.Second, "inactive", "failed"); err != nil {
		t.Fatal(err)
	}
	journal, _ := b.Journal("uns-from-commit.service")
	if !strings.Contains(journal, "owner=0:0") {
		t.Errorf("the committed file is not root's in a host-ID container:\n%s", journal)
	}
}

// TestUnderSystemdSandbox: with unit_sandbox = "systemd" (systemd builds
// the shim's mount namespace: ProtectSystem=strict, ProtectKernelTunables=
// and the rest) the shim still creates the user namespace and its maps.
func TestUnderSystemdSandbox(t *testing.T) {
	b := usernsBox(t)
	define(t, b, "uns-sdsandbox", sleeper("unit_sandbox = \"systemd\"\n"))
	pid := start(t, b, "uns-sdsandbox")
	if m := readMap(t, b, pid, "uid_map"); m.Host < 524288 || m.Size != 65536 {
		t.Errorf("uns-sdsandbox maps %+v", m)
	}
}

// TestSwitchingModesShiftsTheWritableLayer: a container that ran in the
// host's user namespace and then with userns = "auto" (and back) keeps
// its files as it knew them: the writable layer's owners move with it.
func TestSwitchingModesShiftsTheWritableLayer(t *testing.T) {
	b := usernsBox(t)
	const name = "uns-switch"
	base := "[container]\nimage = \"" + image + "\"\nentrypoint = [\"/bin/sh\", \"-c\", \"touch /made-by-root; touch /made-by-app; chown 1000:1000 /made-by-app; exec sleep 600\"]\n\n[service]\nstop_signal = \"SIGKILL\"\n"
	hostDef := base + "\n[security]\nuserns = \"host\"\n"
	define(t, b, name, hostDef)
	start(t, b, name)
	upper := filepath.Join(b.StoreDir(), "containers", name, "upper")
	owner := func(file string) (uint32, uint32) {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(upper, file), &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid, st.Gid
	}
	if uid, _ := owner("made-by-app"); uid != 1000 {
		t.Fatalf("in the host's user namespace the app's file is %d on the host", uid)
	}
	if _, err := b.Systemctl("stop", name+".service"); err != nil {
		t.Fatal(err)
	}
	define(t, b, name, base) // the default: userns = "auto"
	pid := start(t, b, name)
	m := readMap(t, b, pid, "uid_map")
	if uid, _ := owner("made-by-app"); uint64(uid) != m.Host+1000 {
		t.Errorf("with userns = auto the app's file is %d on the host, want %d", uid, m.Host+1000)
	}
	if uid, _ := owner("made-by-root"); uint64(uid) != m.Host {
		t.Errorf("with userns = auto root's file is %d on the host, want %d", uid, m.Host)
	}
	r := b.Exec(t, "", "dockah", "exec", name, "stat", "-c", "%u", "/made-by-app")
	if strings.TrimSpace(r.Stdout) != "1000" {
		t.Errorf("inside, the app's file is %q (%s), want 1000", r.Stdout, r.Stderr)
	}
	if _, err := b.Systemctl("stop", name+".service"); err != nil {
		t.Fatal(err)
	}
	define(t, b, name, hostDef)
	start(t, b, name)
	if uid, _ := owner("made-by-app"); uid != 1000 {
		t.Errorf("back in the host's user namespace the app's file is %d on the host, want 1000", uid)
	}
}
