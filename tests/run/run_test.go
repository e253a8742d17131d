package run

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

const image = "runflags:test"

var setupOnce sync.Once

func runBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() {
		hello := images.Build(t, "./contrib/hello", b.Path("/opt/dockah-run"))
		entries := append(images.Busybox(t, "sh", "echo", "cat", "true", "sleep", "id", "pwd", "hostname", "touch", "ls", "grep", "head", "wc", "mknod"),
			images.Entry{Name: "hello", Source: hello},
			images.Entry{Name: "data", Dir: true},
			images.Entry{Name: "data/seed.txt", Data: []byte("from the image\n"), Mode: 0o644},
			images.Entry{Name: "etc/motd", Data: []byte("not a program\n"), Mode: 0o644},
		)
		images.Import(t, b, image, entries)
		if err := b.WriteFile("/srv/env/app.env", []byte("# app\nFROM_FILE=yes\nMODE=file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A tmpfs: the bind volume is idmapped onto the container's
		// range, which the box's overlayfs root cannot be.
		if err := b.MountTmpfs("/srv/share"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Run("sh", "-c", "echo 'from the host' > /srv/share/host.txt"); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// exitStatus runs a command in the box and returns its output and exit
// status.
func exitStatus(t *testing.T, b *box.Box, args ...string) (string, int) {
	t.Helper()
	r := b.Exec(t, "", args...)
	return r.Stdout + r.Stderr, r.Status
}

// Command lines in the shape of docker run's documented examples, with the
// image adapted, each checked from inside the container.
func TestDockerRunExamples(t *testing.T) {
	b := runBox(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rm", image, "echo", "Hello, World!"}, "Hello, World!"},
		{[]string{"--rm", "-e", "MODE=flag", "--env-file", "/srv/env/app.env", image, "sh", "-c", "echo $FROM_FILE $MODE"}, "yes flag"},
		{[]string{"--rm", "-u", "1000:1000", "-w", "/data", image, "sh", "-c", "echo $(id -u):$(id -g) $(pwd)"}, "1000:1000 /data"},
		{[]string{"--rm", "--hostname", "example", image, "hostname"}, "example"},
		{[]string{"--rm", "--entrypoint", "/bin/echo", image, "from", "entrypoint"}, "from entrypoint"},
		{[]string{"--rm", "--entrypoint", "", image, "/bin/echo", "no", "entrypoint"}, "no entrypoint"},
		{[]string{"--rm", "--read-only", "--tmpfs", "/scratch:size=1m,mode=0700", image, "sh", "-c", "touch /scratch/ok && ! touch /nope 2>/dev/null && echo ro-ok"}, "ro-ok"},
		{[]string{"--rm", "-v", "/srv/share:/share:ro", image, "sh", "-c", "cat /share/host.txt; touch /share/x 2>/dev/null || echo ro"}, "from the host\nro"},
		{[]string{"--rm", "--init", image, "cat", "/proc/1/comm"}, "dockah-stage"},
		{[]string{"--rm", "--cap-drop", "ALL", image, "grep", "CapEff", "/proc/self/status"}, "CapEff:\t0000000000000000"},
		{[]string{"--rm", "--security-opt", "no-new-privileges", image, "grep", "NoNewPrivs", "/proc/self/status"}, "NoNewPrivs:\t1"},
		{[]string{"--rm", "--pids-limit", "3", "--network", "none", image, "sh", "-c", "cat /proc/net/dev | wc -l"}, "3"},
	} {
		args := append([]string{"dockah", "run"}, tc.args...)
		out, err := b.Run(args...)
		if err != nil {
			t.Errorf("%s: %v", strings.Join(args, " "), err)
			continue
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s printed %q, want %q", strings.Join(args, " "), out, tc.want)
		}
	}
}

// seccomp=unconfined takes the container's profile away; systemd's own
// filters for ProtectKernelModules= and ProtectKernelLogs= stay (the
// container has neither capability anyway).
func TestRunSeccompUnconfined(t *testing.T) {
	b := runBox(t)
	filters := func(args ...string) int {
		out, err := b.Run(append(append([]string{"dockah", "run", "--rm"}, args...), image, "grep", "^Seccomp_filters:", "/proc/self/status")...)
		n, convErr := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "Seccomp_filters:")))
		if err != nil || convErr != nil {
			t.Fatalf("%v: %q %v %v", args, out, err, convErr)
		}
		return n
	}
	confined, unconfined := filters(), filters("--security-opt", "seccomp=unconfined")
	if unconfined >= confined {
		t.Errorf("seccomp filters: %d by default, %d with seccomp=unconfined; want fewer", confined, unconfined)
	}
}

// A named volume keeps what a container wrote for the next one.
func TestRunNamedVolume(t *testing.T) {
	b := runBox(t)
	if out, err := b.Run("dockah", "run", "--rm", "-v", "runvol:/vol", image, "sh", "-c", "echo kept > /vol/f"); err != nil {
		t.Fatalf("write: %v %s", err, out)
	}
	out, err := b.Run("dockah", "run", "--rm", "-v", "runvol:/vol:ro", image, "cat", "/vol/f")
	if err != nil || strings.TrimSpace(out) != "kept" {
		t.Errorf("the second container read %q (%v), want kept", out, err)
	}
}

// The root of a --rm container, whose writable layer goes with it, is a
// volatile overlay: nothing syncs it, its unmount at the container's end
// included. A container that keeps its layer syncs as usual, and the same
// name, once the ephemeral container is gone, starts afresh.
func TestRunRemovedContainerIsVolatile(t *testing.T) {
	b := runBox(t)
	defer b.Run("dockah", "rm", "-f", "vol-kept")
	rootOptions := func(args ...string) string {
		t.Helper()
		cmd := append(append([]string{"dockah", "run"}, args...), image, "grep", " / / ", "/proc/self/mountinfo")
		out, err := b.Run(cmd...)
		if err != nil {
			t.Fatalf("dockah run %v: %v\n%s", args, err, out)
		}
		return out
	}
	if out := rootOptions("--rm"); !strings.Contains(out, "overlay") || !strings.Contains(out, "volatile") {
		t.Errorf("the root of a --rm container is not volatile:\n%s", out)
	}
	if out := rootOptions("--name", "vol-kept"); !strings.Contains(out, "overlay") || strings.Contains(out, "volatile") {
		t.Errorf("the root of a container that keeps its layer is volatile:\n%s", out)
	}
}

// The writable layer of a --rm run that wrote nothing is discarded into
// the store's tmp/ and removed by the next run's start, while it waits for
// systemd; one the container wrote to is removed before the command
// returns. Each run removes at least one, so one is left at most, and
// prune removes it.
func TestRunDiscardedLayers(t *testing.T) {
	b := runBox(t)
	discarded := func() []string {
		t.Helper()
		out, err := b.Run("sh", "-c", "cd /var/lib/dockah/tmp 2>/dev/null && ls -d discard-* 2>/dev/null; true")
		if err != nil {
			t.Fatalf("list tmp/: %v\n%s", err, out)
		}
		return strings.Fields(out)
	}
	// What the package's earlier tests left (a run -d --rm's start
	// sweeps nothing) goes first.
	if out, err := b.Run("dockah", "image", "prune"); err != nil {
		t.Fatalf("image prune: %v\n%s", err, out)
	}
	for i := range 3 {
		if out, err := b.Run("dockah", "run", "--rm", image, "true"); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out)
		}
		if got := discarded(); len(got) != 1 {
			t.Fatalf("after --rm run %d: discarded layers %v, want the one of this run", i, got)
		}
	}
	if out, err := b.Run("dockah", "run", "--rm", image, "sh", "-c", "echo x > /written"); err != nil {
		t.Fatalf("run that writes: %v\n%s", err, out)
	}
	if got := discarded(); len(got) != 0 {
		t.Errorf("after a run that wrote to its layer: discarded layers %v, want none (removed at once, the one before by its start)", got)
	}
	if out, err := b.Run("dockah", "run", "--rm", image, "true"); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if out, err := b.Run("dockah", "image", "prune"); err != nil {
		t.Fatalf("image prune: %v\n%s", err, out)
	}
	if got := discarded(); len(got) != 0 {
		t.Errorf("after prune: discarded layers %v, want none", got)
	}
}

// Exit statuses as podman run's: the container's own, 126 and 127 for a
// command that cannot be run or found, 125 for dockah's own failures.
func TestRunExitStatuses(t *testing.T) {
	b := runBox(t)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--rm", image, "sh", "-c", "exit 7"}, 7},
		{[]string{"--rm", image, "/no/such/program"}, 127},
		{[]string{"--rm", image, "/etc/motd"}, 126},
		// The setup stage (init = true) reports them alike.
		{[]string{"--rm", "--init", image, "/no/such/program"}, 127},
		{[]string{"--rm", "--no-such-flag", image, "true"}, 125},
		{[]string{"--rm", "--network", "container:db", image, "true"}, 125},
		{[]string{"--rm", "--pull", "never", "localhost/not-here:1", "true"}, 125},
		{[]string{"--rm", image, "true"}, 0},
	} {
		args := append([]string{"dockah", "run"}, tc.args...)
		out, got := exitStatus(t, b, args...)
		if got != tc.want {
			t.Errorf("%s: exit status %d, want %d\n%s", strings.Join(args, " "), got, tc.want, out)
		}
	}
}

// A shim that fails before its container starts (here on a seccomp
// profile that is not there) ends the run with its own message and 125,
// the container's end recorded as any other's, and leaves no scope behind.
func TestRunShimFailureEndsScope(t *testing.T) {
	b := runBox(t)
	defer b.Run("dockah", "rm", "-f", "badshim")
	out, code := exitStatus(t, b, "dockah", "run", "--name", "badshim", "--security-opt", "seccomp=/no/such/profile.json", image, "true")
	if code != 125 || !strings.Contains(out, "/no/such/profile.json") || strings.Contains(out, "broken pipe") {
		t.Errorf("run with a missing seccomp profile: status %d, want 125 and the shim's message alone:\n%s", code, out)
	}
	// The scope goes once systemd has stopped it, or seen it empty: a
	// moment after the command returns, not never.
	if err := b.WaitUnitState("badshim.scope", 10*time.Second, "inactive", "failed"); err != nil {
		t.Errorf("after its shim failed: %v", err)
	}
	e, ok := ps(t, b, "-a")["badshim"]
	if !ok || e.Exit == nil || e.Exit.Status != 125 {
		t.Errorf("ps -a: badshim is %+v, want listed with exit status 125", e)
	}
	out, code = exitStatus(t, b, "dockah", "run", "--rm", "--security-opt", "seccomp=/no/such/profile.json", image, "true")
	if code != 125 {
		t.Errorf("run --rm with a missing seccomp profile: status %d, want 125\n%s", code, out)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := b.Run("systemctl", "list-units", "--no-legend", "--state=active", "run-*.scope")
		if err == nil && strings.TrimSpace(out) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("scopes left running 10 s after the shim failed (%v):\n%s", err, out)
			break
		}
	}
}

// The default device list holds a run's container, by way of the slice
// its scope is in (unitgen.ContainerSlice) in the unified layout, as the
// scope's own in the others: one that may make device nodes (the host's
// user namespace, CAP_MKNOD, no system call filter) cannot make a block
// device. With every capability a container has no device list, and can.
func TestRunDeviceList(t *testing.T) {
	b := runBox(t)
	if b.Layout() != box.Unified {
		// nspawn mounts the v1 controllers' hierarchies read-only in the
		// box, so its systemd enforces no device list there, a scope's
		// or a service's; a host's systemd owns them.
		t.Skip("the box's systemd cannot use the v1 devices controller")
	}
	mayMknod := []string{"dockah", "run", "--rm", "--userns", "host", "--security-opt", "seccomp=unconfined"}
	probe := []string{image, "sh", "-c", "mknod /data/disk b 8 0 && echo made"}
	out, _ := exitStatus(t, b, slices.Concat(mayMknod, []string{"--cap-add", "MKNOD"}, probe)...)
	if strings.Contains(out, "made") || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("under the default device list, mknod of a block device gave:\n%s", out)
	}
	out, code := exitStatus(t, b, slices.Concat(mayMknod, []string{"--cap-add", "ALL"}, probe)...)
	if code == 125 && strings.Contains(out, "capset") {
		t.Skipf("the negative control needs every capability, which this machine cannot hand on:\n%s", out)
	}
	if !strings.Contains(out, "made") {
		t.Errorf("negative control: without a device list (every capability), mknod of a block device failed too:\n%s", out)
	}
}

// Resource flags reach the unit, where systemd enforces them.
func TestRunResourceFlags(t *testing.T) {
	b := runBox(t)
	out, err := b.Run("dockah", "run", "-d", "--name", "limited", "--restart", "unless-stopped", "-m", "64m", "--cpus", "0.5", "--pids-limit", "32", image, "sleep", "600")
	if err != nil || strings.TrimSpace(out) != "limited" {
		t.Fatalf("run -d: %q %v", out, err)
	}
	defer b.Run("dockah", "rm", "-f", "limited")
	for property, want := range map[string]string{"MemoryMax": "67108864", "CPUQuotaPerSecUSec": "500ms", "TasksMax": "32", "Restart": "always"} {
		if got, err := b.Property("limited.service", property); err != nil || got != want {
			t.Errorf("%s=%q (%v), want %q", property, got, err, want)
		}
	}
}

type psEntry struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Run   bool   `json:"run"`
	Exit  *struct {
		How    string `json:"how"`
		Status int    `json:"status"`
	} `json:"exit"`
	Labels map[string]string `json:"labels"`
}

func ps(t *testing.T, b *box.Box, args ...string) map[string]psEntry {
	t.Helper()
	out, err := b.Run(append([]string{"dockah", "ps", "--format", "json"}, args...)...)
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	var list []psEntry
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("ps json: %v\n%s", err, out)
	}
	m := map[string]psEntry{}
	for _, e := range list {
		m[e.Name] = e
	}
	return m
}

// A detached container is a container like any other: listed, inspected,
// entered, stopped, started again, killed and removed by name, and its
// name stays taken until it is removed.
func TestRunDetachedLifecycle(t *testing.T) {
	b := runBox(t)
	defer b.Run("dockah", "rm", "-f", "det")
	out, err := b.Run("dockah", "run", "-d", "--name", "det", "--label", "team=ops", "--init", image, "sleep", "600")
	if err != nil || strings.TrimSpace(out) != "det" {
		t.Fatalf("run -d printed %q: %v", out, err)
	}
	if e, ok := ps(t, b)["det"]; !ok || e.State != "active" || !e.Run || e.Labels["team"] != "ops" {
		t.Fatalf("ps: %+v (listed %v)", e, ok)
	}
	// A run's container does not outlive the boot, nor does the record
	// of its user namespace range: it is in /run, not in the store.
	durable, volatile := rangeRecords(b)
	if strings.Contains(durable, `"det"`) || !strings.Contains(volatile, `"det"`) {
		t.Errorf("the range of det is not recorded in /run alone:\nstore: %s\n/run: %s", durable, volatile)
	}
	if got := ps(t, b, "-a", "--filter", "label=team=ops"); len(got) != 1 {
		t.Errorf("ps --filter label=team=ops: %v", got)
	}
	if out, err := b.Run("dockah", "exec", "det", "echo", "inside"); err != nil || strings.TrimSpace(out) != "inside" {
		t.Errorf("exec: %q %v", out, err)
	}
	if out, err := b.Run("dockah", "inspect", "det"); err != nil || !strings.Contains(out, `"team": "ops"`) {
		t.Errorf("inspect: %v\n%s", err, out)
	}
	if out, err := b.Run("dockah", "inspect", "--format", `{{.State.State}} {{index .State.Labels "team"}}`, "det"); err != nil || strings.TrimSpace(out) != "active ops" {
		t.Errorf("inspect --format: %q %v", out, err)
	}
	if out, err := b.Run("dockah", "ps", "--format", "{{.Names}} {{.Status}}", "--filter", "name=det"); err != nil || !strings.HasPrefix(out, "det Up ") {
		t.Errorf("ps --format: %q %v", out, err)
	}
	if out, code := exitStatus(t, b, "dockah", "run", "--name", "det", image, "true"); code != 125 || !strings.Contains(out, "in use") {
		t.Errorf("a second container named det: status %d\n%s", code, out)
	}
	if _, err := b.Run("dockah", "stop", "-t", "1", "det"); err != nil {
		t.Fatal(err)
	}
	e := ps(t, b, "-a")["det"]
	if e.State == "active" || e.Exit == nil {
		t.Errorf("after stop, ps -a: %+v", e)
	}
	if _, err := b.Run("dockah", "start", "det"); err != nil {
		t.Fatalf("start again: %v", err)
	}
	if e := ps(t, b)["det"]; e.State != "active" {
		t.Fatalf("after start: %+v", e)
	}
	if _, err := b.Run("dockah", "kill", "det"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitUnitState("det.service", 20*time.Second, "inactive", "failed"); err != nil {
		// A collected unit is gone, which is inactive too.
		if st := ps(t, b, "-a")["det"]; st.State == "active" {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { e := ps(t, b, "-a")["det"]; return e.Exit != nil && e.Exit.How == "killed" }, "ps -a to show det killed")
	if out, err := b.Run("dockah", "rm", "det"); err != nil || strings.TrimSpace(out) != "det" {
		t.Fatalf("rm: %q %v", out, err)
	}
	if _, listed := ps(t, b, "-a")["det"]; listed {
		t.Errorf("det is still listed after rm")
	}
	if _, err := os.Stat(b.StoreDir() + "/containers/det"); !os.IsNotExist(err) {
		t.Errorf("rm left the writable layer: %v", err)
	}
	if durable, volatile := rangeRecords(b); strings.Contains(durable+volatile, `"det"`) {
		t.Errorf("rm left the range of det:\nstore: %s\n/run: %s", durable, volatile)
	}
	if _, err := b.Run("dockah", "run", "--rm", "--name", "det", image, "true"); err != nil {
		t.Errorf("the name det after rm: %v", err)
	}
}

// A CLI killed with SIGKILL leaves a container that is listed and can be
// stopped and removed; its exit is recorded when it ends.
func TestRunSurvivesItsClient(t *testing.T) {
	b := runBox(t)
	defer b.Run("dockah", "rm", "-f", "orphan")
	cmd := b.Command(t.Context(), "dockah", "run", "--name", "orphan", image, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// An attached run is a scope that holds the client's own child.
	if err := b.WaitUnitState("orphan.scope", 20*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	// The client is a child of the nsenter started here; only it dies.
	children, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/" + strconv.Itoa(cmd.Process.Pid) + "/children")
	client, _ := strconv.Atoi(strings.TrimSpace(string(children)))
	if err != nil || client == 0 {
		t.Fatalf("the dockah run under nsenter %d: %q %v", cmd.Process.Pid, children, err)
	}
	if err := syscall.Kill(client, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if e := ps(t, b)["orphan"]; e.State != "active" {
		t.Fatalf("the container after its client died: %+v", e)
	}
	if _, err := b.Run("dockah", "stop", "orphan"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { e := ps(t, b, "-a")["orphan"]; return e.Exit != nil }, "ps -a to show how orphan ended")
	if _, err := b.Run("dockah", "rm", "orphan"); err != nil {
		t.Fatal(err)
	}
}

// With -p the container's output still reaches the terminal, and its
// port closes when it ends.
func TestRunPublishedOutputReachesTheTerminal(t *testing.T) {
	b := runBox(t)
	cmd := b.Command(t.Context(), "dockah", "run", "--rm", "--name", "pubout", "-p", "127.0.0.1:18501:8080",
		"-e", "HELLO_IGNORE_LISTEN_FDS=1", "-e", "HELLO_LISTEN=127.0.0.1:8080",
		image, "sh", "-c", "echo to-the-terminal; echo to-stderr >&2; exec /hello")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Run("dockah", "rm", "-f", "pubout")
	waitFor(t, func() bool {
		body, _ := b.Run("curl", "-s", "http://127.0.0.1:18501/")
		return strings.Contains(body, "hello from dockah")
	}, "an answer on the published port")
	if _, err := b.Run("dockah", "stop", "pubout"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("dockah run -p after a stop: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "to-the-terminal") || !strings.Contains(out.String(), "to-stderr") {
		t.Errorf("run -p printed %q, want the container's output", out.String())
	}
	if state, _ := b.Property("pubout.socket", "ActiveState"); state == "active" {
		t.Errorf("the socket of an ended run container still listens")
	}
}

// A container that is run again without --rm under the same name is
// refused until the first is removed, not silently given the old layer.
func TestRunRefusesAnOldLayer(t *testing.T) {
	b := runBox(t)
	defer b.Run("dockah", "rm", "keep")
	if _, err := b.Run("dockah", "run", "--name", "keep", image, "sh", "-c", "echo old > /marker"); err != nil {
		t.Fatal(err)
	}
	if out, code := exitStatus(t, b, "dockah", "run", "--name", "keep", image, "cat", "/marker"); code != 125 || !strings.Contains(out, "dockah rm keep") {
		t.Errorf("re-run of keep: status %d\n%s", code, out)
	}
	if e := ps(t, b, "-a")["keep"]; e.Exit == nil || e.Exit.How != "exited" || e.Exit.Status != 0 {
		t.Errorf("ps -a keep: %+v", e)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	if !box.Eventually(20*time.Second, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// An attached run is a scope with the definition's limits, holding the
// client's child: listed, entered, shown by top, registered with
// machined, and stopped as any container.
func TestRunAttachedIsAScope(t *testing.T) {
	b := runBox(t)
	defer b.Run("dockah", "rm", "-f", "scoped")
	cmd := b.Command(t.Context(), "dockah", "run", "--name", "scoped", "-m", "64m", "--stop-timeout", "1", image, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- cmd.Wait() }()
	if err := b.WaitUnitState("scoped.scope", 20*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	// The limits, and the sandbox directives that are the cgroup's (the
	// device list by way of its slice in the unified layout); the others
	// are a spawned process's, which a scope has none of.
	want := map[string]string{"MemoryMax": "67108864", "Slice": "dockah.slice", "IPAddressDeny": "0.0.0.0/0 ::/0", "TimeoutStopUSec": "1s"}
	if b.Layout() != box.Unified {
		want["Slice"], want["DevicePolicy"] = "system.slice", "closed"
	} else if got, err := b.Property("dockah.slice", "DevicePolicy"); err != nil || got != "closed" {
		t.Errorf("DevicePolicy of dockah.slice = %q (%v), want closed", got, err)
	}
	for property, want := range want {
		got, err := b.Property("scoped.scope", property)
		if property == "IPAddressDeny" {
			// A set: systemd lists it in no fixed order.
			fields := strings.Fields(got)
			slices.Sort(fields)
			got = strings.Join(fields, " ")
		}
		if err != nil || got != want {
			t.Errorf("%s of scoped.scope = %q (%v), want %q", property, got, err, want)
		}
	}
	waitFor(t, func() bool { e := ps(t, b)["scoped"]; return e.State == "active" }, "ps to list scoped as active")
	if out, err := b.Run("dockah", "exec", "scoped", "cat", "/proc/1/cmdline"); err != nil || !strings.HasPrefix(out, "sleep") {
		t.Errorf("exec into the scope's container: %q %v", out, err)
	}
	if out, err := b.Run("dockah", "top", "scoped"); err != nil || !strings.Contains(out, "sleep") {
		t.Errorf("top: %q %v", out, err)
	}
	if out, err := b.Run("machinectl", "show", "scoped", "-p", "Unit"); err != nil || strings.TrimSpace(out) != "Unit=scoped.scope" {
		t.Errorf("machinectl show scoped: %q %v", out, err)
	}
	if _, err := b.Run("dockah", "stop", "scoped"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		// sleep as pid 1 has no handler for SIGTERM: SIGKILL at the
		// stop timeout, 128+9 as a shell reports it.
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 137 {
			t.Errorf("the client after the stop: %v, want exit status 137", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the client did not end after dockah stop")
	}
	e := ps(t, b, "-a")["scoped"]
	if e.Exit == nil || e.Exit.How != "killed" || e.Exit.Status != 9 {
		t.Errorf("ps -a after the stop: %+v", e)
	}
	if _, err := b.Run("dockah", "start", "scoped"); err != nil {
		t.Fatalf("start again, detached: %v", err)
	}
	if err := b.WaitUnitState("scoped.service", 20*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
}

// An attached run asks systemd about its name's units while its scope is
// made (run_scope.go): a name whose service or scope is a unit of the
// host's own is refused, and nothing of the run is left, the writable
// layer its shim may have made meanwhile included.
func TestRunRefusesANameOfAHostUnit(t *testing.T) {
	b := runBox(t)
	for _, unit := range []string{"hostsvc.service", "hostscope.scope"} {
		name := strings.Split(unit, ".")[0]
		var start []string
		if strings.HasSuffix(unit, ".scope") {
			start = []string{"sh", "-c", "systemd-run --quiet --scope --unit " + unit + " sleep 600 >/dev/null 2>&1 &"}
		} else {
			start = []string{"systemd-run", "--quiet", "--unit", unit, "sleep", "600"}
		}
		if out, err := b.Run(start...); err != nil {
			t.Fatalf("%v: %v\n%s", start, err, out)
		}
		defer b.Systemctl("stop", unit)
		if err := b.WaitUnitState(unit, 10*time.Second, "active"); err != nil {
			t.Fatal(err)
		}
		out, code := exitStatus(t, b, "dockah", "run", "--rm", "--name", name, image, "true")
		if code != 125 || !strings.Contains(out, "the unit "+unit+" exists") {
			t.Errorf("dockah run --name %s: status %d, want 125 and the unit named\n%s", name, code, out)
		}
		out, code = exitStatus(t, b, "dockah", "run", "--name", name, image, "true")
		if code != 125 || !strings.Contains(out, "the unit "+unit+" exists") {
			t.Errorf("dockah run --name %s (kept): status %d, want 125 and the unit named\n%s", name, code, out)
		}
		if state, err := b.Property(unit, "ActiveState"); err != nil || state != "active" {
			t.Errorf("%s after the refused runs: %q %v", unit, state, err)
		}
		for _, left := range []string{"/run/dockah/run/" + name + ".toml", "/run/dockah/run/" + name + ".scope", "/var/lib/dockah/containers/" + name} {
			if out, err := b.Run("ls", "-d", left); err == nil {
				t.Errorf("a refused run left %s", out)
			}
		}
		if out, err := b.Run("dockah", "ps", "-a", "--format", "{{.Names}}"); err != nil || strings.Contains(out, name) {
			t.Errorf("ps -a lists the refused run: %q %v", out, err)
		}
		if durable, volatile := rangeRecords(b); strings.Contains(durable+volatile, `"`+name+`"`) {
			t.Errorf("a refused run kept a user namespace range:\n%s\n%s", durable, volatile)
		}
	}
}

// A container sees its own cgroup as the root of its cgroup namespace,
// and /sys/fs/cgroup is that cgroup: for an attached run, whose shim is
// moved into the scope systemd makes for it before it makes the
// namespaces, and for a detached run's service.
func TestRunContainerSeesItsOwnCgroup(t *testing.T) {
	b := runBox(t)
	script := `while read l; do echo "CG $l"; done < /proc/self/cgroup
while read l; do echo "PROC $l"; done < /sys/fs/cgroup/cgroup.procs
echo END`
	for _, mode := range []string{"attached", "detached"} {
		var out string
		if mode == "attached" {
			r := b.Exec(t, "", "dockah", "run", "--rm", image, "sh", "-c", script)
			if r.Status != 0 {
				t.Fatalf("%s run: status %d\n%s%s", mode, r.Status, r.Stdout, r.Stderr)
			}
			out = r.Stdout
		} else {
			if _, err := b.Run("dockah", "run", "-d", "--name", "owncg", image, "sh", "-c", script+"\nsleep 600"); err != nil {
				t.Fatal(err)
			}
			defer b.Run("dockah", "rm", "-f", "owncg")
			var err error
			if out, err = b.WaitJournal("owncg.service", "END", 20*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		var cgroups, procs []string
		for _, line := range strings.Split(out, "\n") {
			if _, rest, ok := strings.Cut(line, "CG "); ok {
				cgroups = append(cgroups, rest)
			} else if _, rest, ok := strings.Cut(line, "PROC "); ok {
				procs = append(procs, strings.TrimSpace(rest))
			}
		}
		if len(cgroups) == 0 {
			t.Fatalf("%s run: no /proc/self/cgroup in its output:\n%s", mode, out)
		}
		for _, line := range cgroups {
			if !strings.HasSuffix(line, ":/") {
				t.Errorf("%s run: /proc/self/cgroup line %q: the container's cgroup is not its namespace's root", mode, line)
			}
		}
		// The shim may be there too, outside the pid namespace (0).
		if !slices.Contains(procs, "1") {
			t.Errorf("%s run: /sys/fs/cgroup/cgroup.procs = %v, want the container's pid 1: the mount is not the container's cgroup", mode, procs)
		}
	}
}

// rangeRecords are the box's records of user namespace ranges: the
// store's, and the one of transient containers in /run ("" if missing).
func rangeRecords(b *box.Box) (durable, volatile string) {
	durable, _ = b.Run("cat", "/var/lib/dockah/userns/ranges.json")
	volatile, _ = b.Run("cat", "/run/dockah/userns/var/lib/dockah/ranges.json")
	return durable, volatile
}
