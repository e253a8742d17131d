package container

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/testenv"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// Ports 18010-18049 belong to this package.
const helloAddr = "127.0.0.1:18010"

// info is what the hello server's /info reports.
type info struct {
	PID        int      `json:"pid"`
	UID        int      `json:"uid"`
	Hostname   string   `json:"hostname"`
	Interfaces []string `json:"interfaces"`
	Processes  []int    `json:"processes"`
	Env        []string `json:"env"`
	RootFiles  []string `json:"root_files"`
}

var setupOnce sync.Once

// helloContainer imports the hello image and defines the container
// "hello" with a socket on helloAddr, once for the package.
func helloContainer(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() {
		helloImage(t, b, "hello:test")
		def := `[container]
image = "hello:test"

[[socket]]
listen = "` + helloAddr + `"
name = "http"

[service]
restart = "on-failure"
`
		if err := b.WriteFile("/etc/dockah/containers/hello.toml", []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Systemctl("daemon-reload"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Systemctl("start", "hello.socket"); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return b
}

func get(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body)
}

func stop(t *testing.T, b *box.Box) {
	t.Helper()
	if _, err := b.Systemctl("stop", "hello.service"); err != nil {
		t.Fatal(err)
	}
}

func TestFirstConnectionStartsContainer(t *testing.T) {
	b := helloContainer(t)
	stop(t, b)
	if body := get(t, "http://"+helloAddr+"/"); !strings.Contains(body, "hello from dockah") {
		t.Fatalf("answer %q", body)
	}
	journal, err := b.WaitJournal("hello.service", "hello: GET /", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(journal, "socket-activated, LISTEN_FDNAMES=http") {
		t.Errorf("the socket was not passed through with its name:\n%s", journal)
	}
	// Nothing of dockah stays: once the unit is active (the shim sent
	// MAINPID and READY=1) and the shim has exited, systemd's main pid is
	// the container's, alone in the unit's cgroup (counted on both cgroup
	// layouts: every process names its cgroups).
	if err := b.WaitUnitState("hello.service", 10*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	var pid, exe, procs string
	for deadline := time.Now().Add(10 * time.Second); ; {
		pid, _ = b.Property("hello.service", "MainPID")
		exe, _ = b.Run("readlink", "/proc/"+pid+"/exe")
		procs, _ = b.Run("sh", "-c", "grep -l '/hello.service$' /proc/[0-9]*/cgroup || true")
		if strings.HasSuffix(strings.TrimSpace(exe), "/hello") && len(strings.Fields(procs)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("main pid %s runs %q and the unit's cgroup has %d processes, want only the container's /hello:\n%s", pid, exe, len(strings.Fields(procs)), procs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The shim registers the container with machined before its
	// entrypoint runs, so machined has it by the first answer.
	leader, err := b.Run("machinectl", "show", "hello", "-p", "Leader", "--value")
	if err != nil || strings.TrimSpace(leader) != pid {
		t.Errorf("machinectl show hello: leader %q (%v), want the main pid %s", leader, err, pid)
	}
}

func TestContainerIsIsolated(t *testing.T) {
	helloContainer(t)
	var in info
	if err := json.Unmarshal([]byte(get(t, "http://"+helloAddr+"/info")), &in); err != nil {
		t.Fatal(err)
	}
	if in.PID != 1 {
		t.Errorf("pid %d inside, want 1 (own pid namespace)", in.PID)
	}
	if !slices.Equal(in.Processes, []int{1}) {
		t.Errorf("sees processes %v, want only itself", in.Processes)
	}
	if !slices.Equal(in.Interfaces, []string{"lo"}) {
		t.Errorf("interfaces %v, want only lo", in.Interfaces)
	}
	if in.Hostname != "hello" {
		t.Errorf("hostname %q, want hello", in.Hostname)
	}
	for _, f := range in.RootFiles {
		if f == "usr" || f == "home" || f == "boot" {
			t.Errorf("sees the host's /%s in its root %v", f, in.RootFiles)
		}
	}
	for _, kv := range in.Env {
		if strings.HasPrefix(kv, "INVOCATION_ID=") || strings.HasPrefix(kv, "JOURNAL_STREAM=") || strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			t.Errorf("the shim's environment leaked into the container: %s", kv)
		}
	}
}

func TestSyslogReachesJournal(t *testing.T) {
	b := helloContainer(t)
	msg := fmt.Sprintf("syslog-line-%d", time.Now().UnixNano())
	get(t, "http://"+helloAddr+"/syslog?msg="+msg)
	if _, err := b.WaitJournal("hello.service", msg, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestKilledContainerIsRestarted(t *testing.T) {
	b := helloContainer(t)
	get(t, "http://"+helloAddr+"/")
	pid, err := b.Property("hello.service", "MainPID")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Run("kill", "-9", pid); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		now, _ := b.Property("hello.service", "MainPID")
		if now != pid && now != "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no restart after kill -9 of %s (MainPID %s)", pid, now)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if body := get(t, "http://"+helloAddr+"/"); !strings.Contains(body, "hello from dockah") {
		t.Fatalf("answer after restart %q", body)
	}
}

func TestStopLeavesNothing(t *testing.T) {
	b := helloContainer(t)
	get(t, "http://"+helloAddr+"/")
	stop(t, b)
	if pid, _ := b.Property("hello.service", "MainPID"); pid != "0" {
		t.Errorf("MainPID %s after stop", pid)
	}
	// The container's mounts lived in its own mount namespace, under the
	// store's mount point; no process of the box may still hold one.
	out, err := b.Run("sh", "-c", "grep -l /var/lib/dockah/mnt /proc/[0-9]*/mountinfo || true")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "" {
		t.Errorf("processes still hold the container's mounts: %s", out)
	}
}

func TestManyFirstConnectionsAreAllAnswered(t *testing.T) {
	b := helloContainer(t)
	stop(t, b)
	testenv.AllAtOnce(t, 200, func(i int) error {
		client := &http.Client{Timeout: 30 * time.Second}
		resp, err := client.Get("http://" + helloAddr + "/?n=" + strconv.Itoa(i))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && !strings.Contains(string(body), "hello from dockah") {
			err = fmt.Errorf("answer %q", body)
		}
		return err
	})
}
