package ops

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
)

// startWeb starts web through its socket, the first connection, and
// waits until systemd has it as started (the server answers a little
// before the shim hands systemd its pid).
func startWeb(t *testing.T, b *box.Box) {
	t.Helper()
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get("http://" + webAddr + "/")
	if err != nil {
		t.Fatalf("GET %s: %v", webAddr, err)
	}
	defer resp.Body.Close()
	if body, _ := io.ReadAll(resp.Body); !strings.Contains(string(body), "hello from dockah") {
		t.Fatalf("web answered %q", body)
	}
	if err := b.WaitUnitState("web.service", 10*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
}

// psEntry is the part of `dockah ps --format json` the tests read.
type psEntry struct {
	Name        string  `json:"name"`
	Service     string  `json:"service"`
	Image       string  `json:"image"`
	State       string  `json:"state"`
	MainPID     uint32  `json:"mainPID"`
	MemoryBytes *uint64 `json:"memoryBytes"`
	Uptime      *int64  `json:"uptimeSeconds"`
	Exit        *struct {
		How    string `json:"how"`
		Status int32  `json:"status"`
		Result string `json:"result"`
	} `json:"exit"`
	Sockets []struct {
		Unit   string   `json:"unit"`
		Listen []string `json:"listen"`
		State  string   `json:"state"`
	} `json:"sockets"`
}

func psJSON(t *testing.T, b *box.Box, args ...string) map[string]psEntry {
	t.Helper()
	var list []psEntry
	out := dockah(t, b, append([]string{"ps", "--format", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("ps --format json: %v\n%s", err, out)
	}
	byName := map[string]psEntry{}
	for _, e := range list {
		byName[e.Name] = e
	}
	return byName
}

func TestPs(t *testing.T) {
	b := opsBox(t)
	stop(t, b, "web")
	start(t, b, "sleeper")
	defer stop(t, b, "sleeper")
	pid := mainPID(t, b, "sleeper.service")

	running := psJSON(t, b)
	s, ok := running["sleeper"]
	if !ok || s.State != "active" || strconv.Itoa(int(s.MainPID)) != pid || s.Image != "ops:test" || s.Service != "sleeper.service" || s.Uptime == nil {
		t.Errorf("ps: sleeper %+v (main pid %s)", s, pid)
	}
	if _, ok := running["web"]; ok {
		t.Errorf("ps without -a lists the stopped web: %+v", running["web"])
	}
	all := psJSON(t, b, "-a")
	w, ok := all["web"]
	if !ok || w.State != "inactive" || w.MainPID != 0 || len(w.Sockets) != 1 || w.Sockets[0].Unit != "web.socket" ||
		w.Sockets[0].State != "active" || strings.Join(w.Sockets[0].Listen, ",") != webAddr {
		t.Errorf("ps -a: web %+v", w)
	}
	table := dockah(t, b, "ps", "-a")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "NAME ") || !strings.Contains(lines[0], "MEMORY") {
		t.Fatalf("ps -a table:\n%s", table)
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		switch f[0] {
		case "sleeper":
			if f[1] != "active" || f[2] != pid || f[3] != "ops:test" {
				t.Errorf("ps row %q", line)
			}
		case "web":
			if f[1] != "inactive" || f[2] != "-" || f[4] != webAddr {
				t.Errorf("ps row %q", line)
			}
		}
	}
	startWeb(t, b)
	if w := psJSON(t, b)["web"]; w.State != "active" || w.MainPID == 0 {
		t.Errorf("ps after the first connection: web %+v", w)
	}
}

func TestInspect(t *testing.T) {
	b := opsBox(t)
	startWeb(t, b)
	out := dockah(t, b, "inspect", "web")
	var got []struct {
		Name       string `json:"name"`
		Definition struct {
			Source string         `json:"source"`
			Merged map[string]any `json:"merged"`
		} `json:"definition"`
		Units struct {
			Service string   `json:"service"`
			Sockets []string `json:"sockets"`
		} `json:"units"`
		Image struct {
			Ref string `json:"ref"`
			ID  string `json:"id"`
		} `json:"image"`
		Spec struct {
			Process struct {
				Args []string `json:"args"`
			} `json:"process"`
			Hostname string `json:"hostname"`
		} `json:"spec"`
		SELinuxLabel string  `json:"selinuxLabel"`
		State        psEntry `json:"state"`
		Problems     []string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	in := got[0]
	container, _ := in.Definition.Merged["container"].(map[string]any)
	if in.Name != "web" || in.Definition.Source != "/etc/dockah/containers/web.toml" || container["image"] != "ops:test" {
		t.Errorf("definition %+v", in.Definition)
	}
	if in.Units.Service != "web.service" || strings.Join(in.Units.Sockets, ",") != "web.socket" {
		t.Errorf("units %+v", in.Units)
	}
	if in.Image.Ref != "ops:test" || !strings.HasPrefix(in.Image.ID, "sha256:") {
		t.Errorf("image %+v", in.Image)
	}
	if strings.Join(in.Spec.Process.Args, " ") != "/hello" || in.Spec.Hostname != "web" {
		t.Errorf("spec %+v", in.Spec)
	}
	if in.SELinuxLabel != "none (SELinux off)" {
		t.Errorf("label %q on a kernel without SELinux", in.SELinuxLabel)
	}
	if in.State.State != "active" || strconv.Itoa(int(in.State.MainPID)) != mainPID(t, b, "web.service") || len(in.Problems) != 0 {
		t.Errorf("state %+v, problems %v", in.State, in.Problems)
	}
	oneLineError(t, run(t, b, "dockah", "inspect", "nosuch"), "nosuch")
}

func TestLogs(t *testing.T) {
	b := opsBox(t)
	stop(t, b, "sleeper")
	start(t, b, "sleeper")
	defer stop(t, b, "sleeper")
	if !eventually(10*time.Second, func() bool {
		return strings.Contains(dockah(t, b, "logs", "--no-pager", "sleeper"), "sleeper-ready")
	}) {
		t.Fatalf("dockah logs sleeper lacks the container's stdout:\n%s", dockah(t, b, "logs", "--no-pager", "sleeper"))
	}
	last := strings.TrimSpace(dockah(t, b, "logs", "--no-pager", "-n", "1", "-o", "cat", "sleeper"))
	if strings.Count(last, "\n") != 0 || last == "" {
		t.Errorf("logs -n 1 printed %q", last)
	}
	if out := dockah(t, b, "logs", "--no-pager", "--since", "+1h", "sleeper"); strings.Contains(out, "sleeper-ready") {
		t.Errorf("logs --since in the future printed old entries:\n%s", out)
	}
	// -f keeps following until stopped; what is there is printed first.
	r := run(t, b, "timeout", "2", "dockah", "logs", "-f", "-o", "cat", "sleeper")
	if r.status != 124 || !strings.Contains(r.stdout, "sleeper-ready") {
		t.Errorf("logs -f: status %d (want 124, stopped by timeout)\n%s%s", r.status, r.stdout, r.stderr)
	}
	// The syslog of web's hello server reaches its journal too.
	startWeb(t, b)
	msg := "ops-syslog-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	resp, err := http.Get("http://" + webAddr + "/syslog?msg=" + msg)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !eventually(10*time.Second, func() bool { return strings.Contains(dockah(t, b, "logs", "--no-pager", "web"), msg) }) {
		t.Errorf("dockah logs web lacks the syslog line %s", msg)
	}
}

func TestEnableDisable(t *testing.T) {
	b := opsBox(t)
	dropIn := "/etc/dockah/containers/sleeper.toml.d/50-dockah-enable.toml"
	dockah(t, b, "enable", "sleeper")
	if !wants(t, b, "multi-user.target", "sleeper.service") {
		t.Errorf("after enable, multi-user.target does not want sleeper.service")
	}
	if out, err := b.Run("cat", dropIn); err != nil || !strings.Contains(out, `wanted_by = ["multi-user.target"]`) {
		t.Errorf("drop-in: %v\n%s", err, out)
	}
	dockah(t, b, "disable", "sleeper")
	if wants(t, b, "multi-user.target", "sleeper.service") {
		t.Errorf("after disable, multi-user.target still wants sleeper.service")
	}
	if _, err := b.Run("test", "!", "-e", dropIn); err != nil {
		t.Errorf("disable left %s", dropIn)
	}
	// A container with sockets starts at boot by its sockets, in
	// sockets.target.
	dockah(t, b, "enable", "web")
	defer dockah(t, b, "disable", "web")
	if !wants(t, b, "sockets.target", "web.socket") {
		t.Errorf("after enable, sockets.target does not want web.socket")
	}
	if wants(t, b, "multi-user.target", "web.service") {
		t.Errorf("multi-user.target wants web.service itself: its socket starts it")
	}
	// --now starts it too.
	stop(t, b, "sleeper")
	dockah(t, b, "enable", "--now", "sleeper")
	if state, _ := b.Property("sleeper.service", "ActiveState"); state != "active" {
		t.Errorf("enable --now left sleeper %s", state)
	}
	dockah(t, b, "disable", "--now", "sleeper")
	if pid := mainPID(t, b, "sleeper.service"); pid != "0" {
		t.Errorf("disable --now left sleeper running as %s", pid)
	}
	_, _ = b.Systemctl("reset-failed", "sleeper.service")
}

// wants reports whether target's Wants= lists unit. It asks the target,
// not the unit's WantedBy=: systemd computes that from the targets it has
// loaded, and a box booted to basic.target may not have loaded
// multi-user.target (Debian 13's has not; the host's does, because its
// own services name it). Asking for the target loads it.
func wants(t *testing.T, b *box.Box, target, unit string) bool {
	t.Helper()
	got, err := b.Property(target, "Wants")
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(strings.Fields(got), unit)
}
