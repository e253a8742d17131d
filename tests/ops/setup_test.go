package ops

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// Ports 18400-18499 belong to this package.
const webAddr = "127.0.0.1:18400"

// shim is where make install PREFIX=/usr puts the activation shim.
const shim = "/usr/libexec/dockah/dockah-activate"

// auditMessageID is the MESSAGE_ID of dockah's start and stop records.
const auditMessageID = "734ac53e94b243e5a8cf12db702a479d"

// applets are the busybox applets the ops image links.
var applets = []string{"sh", "cat", "ls", "id", "hostname", "sleep", "echo", "tty", "grep", "tr", "pwd", "env", "true", "false", "kill", "ps"}

// The containers: web is socket-activated and runs the hello server as
// its pid 1; sleeper has no sockets, says it is ready and sleeps, and
// ends on SIGTERM with status 0 (a shell as pid 1 gets the signal only
// through a trap).
var definitions = map[string]string{
	"web": `[container]
image = "ops:test"
entrypoint = ["/hello"]

[[socket]]
listen = "` + webAddr + `"
name = "http"
`,
	"sleeper": `[container]
image = "ops:test"
entrypoint = ["/bin/sh", "-c", "trap 'exit 0' TERM; echo sleeper-ready; sleep 100000 & wait"]
`,
}

var setupOnce sync.Once

// opsBox imports the ops image and defines the containers, once for the
// package, and returns the box.
func opsBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() { setup(t, b) })
	if t.Failed() {
		t.FailNow()
	}
	return b
}

func setup(t *testing.T, b *box.Box) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("the ops image needs busybox (Debian package busybox-static): %v", err)
	}
	hello := images.Build(t, "./contrib/hello", b.Path("/opt/dockah-ops"))
	entries := []images.Entry{
		{Name: "bin", Dir: true},
		{Name: "bin/busybox", Source: busybox},
		{Name: "hello", Source: hello},
		{Name: "etc", Dir: true},
		{Name: "etc/passwd", Data: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"), Mode: 0o644},
		{Name: "etc/group", Data: []byte("root:x:0:\napp:x:1000:\n"), Mode: 0o644},
	}
	for _, a := range applets {
		entries = append(entries, images.Entry{Name: "bin/" + a, Link: "busybox"})
	}
	images.Import(t, b, "ops:test", entries)
	for name, def := range definitions {
		if err := b.WriteFile("/etc/dockah/containers/"+name+".toml", []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	checkStopRecords(t, b)
	if _, err := b.Systemctl("start", "web.socket"); err != nil {
		t.Fatal(err)
	}
}

// checkStopRecords checks that each generated service records its stop
// (ExecStopPost=SHIM --stopped NAME).
func checkStopRecords(t *testing.T, b *box.Box) {
	for name := range definitions {
		unit, err := b.Systemctl("cat", name+".service")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(unit, "ExecStopPost=-"+shim+" --stopped "+name) {
			t.Errorf("%s.service has no stop record:\n%s", name, unit)
		}
	}
}

// result is what a command run in the box did.
type result struct {
	stdout, stderr string
	status         int
}

// run runs a command in the box and returns its output and exit status;
// it fails the test only when the command cannot be run at all.
func run(t *testing.T, b *box.Box, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), box.DefaultTimeout)
	defer cancel()
	cmd := b.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), status: cmd.ProcessState.ExitCode()}
}

// dockah runs the CLI in the box and fails the test unless it succeeds.
func dockah(t *testing.T, b *box.Box, args ...string) string {
	t.Helper()
	r := run(t, b, append([]string{"dockah"}, args...)...)
	if r.status != 0 {
		t.Fatalf("dockah %s: exit status %d\n%s%s", strings.Join(args, " "), r.status, r.stdout, r.stderr)
	}
	return r.stdout
}

// stop stops a container with dockah and forgets its result, so that
// the next test finds it "inactive" and systemd's start rate limit does
// not count the starts of earlier tests. (On systemd 252 a stop SIGKILLs
// the container's init at once and leaves the unit "failed": the init is
// not systemd's child when MAINPID= arrives, and with KillMode=mixed
// systemd does not wait for such a main process after SIGTERM.)
func stop(t *testing.T, b *box.Box, name string) {
	t.Helper()
	dockah(t, b, "stop", name)
	if pid := mainPID(t, b, name+".service"); pid != "0" {
		t.Fatalf("%s still runs as %s after dockah stop", name, pid)
	}
	_, _ = b.Systemctl("reset-failed", name+".service") // fails for a unit not loaded
}

// start starts a container with dockah after forgetting earlier starts.
func start(t *testing.T, b *box.Box, name string) {
	t.Helper()
	_, _ = b.Systemctl("reset-failed", name+".service")
	dockah(t, b, "start", name)
}

// mainPID returns the MainPID of a unit in the box.
func mainPID(t *testing.T, b *box.Box, unit string) string {
	t.Helper()
	pid, err := b.Property(unit, "MainPID")
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// eventually polls cond until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// oneLineError checks that a failed dockah printed one line, on stderr,
// starting with "dockah: " and containing want.
func oneLineError(t *testing.T, r result, want string) {
	t.Helper()
	if r.status == 0 {
		t.Errorf("exit status 0, want a failure with %q", want)
		return
	}
	msg := strings.TrimSuffix(r.stderr, "\n")
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "dockah: ") || !strings.Contains(msg, want) {
		t.Errorf("stderr %q: want one line \"dockah: ...%s...\"", r.stderr, want)
	}
}
