package security

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// The probe's output, one JSON object a line (see contrib/attack).
type (
	report struct {
		Attack  string `json:"attack"`
		Allowed bool   `json:"allowed"`
		Result  string `json:"result"`
		Detail  string `json:"detail"`
	}
	summary struct {
		Attacks int      `json:"attacks"`
		Blocked int      `json:"blocked"`
		Allowed []string `json:"allowed"`
		Absent  []string `json:"absent"`
		Errors  []string `json:"errors"`
	}
	mount struct {
		Point  string `json:"point"`
		Type   string `json:"type"`
		Source string `json:"source"`
	}
	lookResult struct {
		Look    string   `json:"look"`
		Exists  bool     `json:"exists"`
		Kind    string   `json:"kind"`
		FS      string   `json:"fs"`
		Content string   `json:"content"`
		Entries []string `json:"entries"`
		Error   string   `json:"error"`
	}
)

// probeRun is what one run of the probe printed.
type probeRun struct {
	reports map[string]report
	order   []string
	summary *summary
	mounts  []mount
	looks   map[string]lookResult
	journal string
}

// parseProbe reads the probe's lines out of a journal; other lines
// (systemd's, the shim's) are skipped.
func parseProbe(journal string) (*probeRun, error) {
	r := &probeRun{reports: map[string]report{}, looks: map[string]lookResult{}, journal: journal}
	sc := bufio.NewScanner(strings.NewReader(journal))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var v struct {
			report
			Mounts  []mount         `json:"mounts"`
			Summary *summary        `json:"summary"`
			Error   string          `json:"error"`
			Look    json.RawMessage `json:"look"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, fmt.Errorf("probe line %q: %w", line, err)
		}
		switch {
		case v.Attack != "":
			r.reports[v.Attack] = v.report
			r.order = append(r.order, v.Attack)
		case v.Summary != nil:
			r.summary = v.Summary
		case v.Mounts != nil:
			r.mounts = v.Mounts
		case v.Look != nil:
			var l lookResult
			_ = json.Unmarshal(line, &l)
			r.looks[l.Look] = l
		case v.Error != "":
			return nil, fmt.Errorf("the probe refused: %s", v.Error)
		}
	}
	if r.summary == nil {
		return nil, fmt.Errorf("no summary line from the probe")
	}
	return r, sc.Err()
}

// hasMount reports whether the container saw a mount at point.
func (r *probeRun) hasMount(point string) (mount, bool) {
	for _, m := range r.mounts {
		if m.Point == point {
			return m, true
		}
	}
	return mount{}, false
}

func (r *probeRun) table() string {
	var b strings.Builder
	for _, name := range r.order {
		rep := r.reports[name]
		fmt.Fprintf(&b, "  %-22s %-8s %s\n", name, rep.Result, rep.Detail)
	}
	return b.String()
}

const attackImage = "attack:test"

var imageOnce struct {
	sync.Once
	failed bool
}

// attackBox returns the box with the attack image imported, once for the
// package: the probe as /attack, and a /tmp for its scratch files.
func attackBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	imageOnce.Do(func() {
		imageOnce.failed = true
		images.Import(t, b, attackImage, probeEntries(t, b), "--entrypoint", "/attack")
		imageOnce.failed = false
	})
	if imageOnce.failed {
		t.Fatal("the attack image could not be imported (see the first test that tried)")
	}
	return b
}

var probeBin struct {
	sync.Once
	path string
}

// probeEntries are the files every attack image has: the probe and /tmp.
func probeEntries(t *testing.T, b *box.Box) []images.Entry {
	probeBin.Do(func() { probeBin.path = images.Build(t, "./contrib/attack", b.Path("/opt/dockah-attack-bin")) })
	if probeBin.path == "" {
		t.Fatal("the probe did not build")
	}
	return []images.Entry{
		{Name: "attack", Source: probeBin.path},
		{Name: "tmp", Dir: true, Mode: 0o1777},
	}
}

// start defines the container name, starts it and waits until it has
// exited. It returns what the probe printed; ok is false when the
// container did not run to a clean exit (journal says why).
func start(t *testing.T, b *box.Box, name, definition string) (run *probeRun, ok bool, journal string) {
	t.Helper()
	began, startErr := launch(t, b, name, definition)
	return collect(t, b, name, began, startErr)
}

// launch defines the container name and starts its service; systemctl
// returns once the entrypoint runs.
func launch(t *testing.T, b *box.Box, name, definition string) (time.Time, error) {
	t.Helper()
	if err := b.WriteFile("/etc/dockah/containers/"+name+".toml", []byte(definition), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err := b.Systemctl("start", name+".service")
	return began, err
}

// collect waits until the container launched at began has exited and
// parses what the probe printed.
func collect(t *testing.T, b *box.Box, name string, began time.Time, startErr error) (run *probeRun, ok bool, journal string) {
	t.Helper()
	unit := name + ".service"
	if err := b.WaitUnitState(unit, 60*time.Second, "inactive", "failed"); err != nil {
		t.Fatal(err)
	}
	result, _ := b.Property(unit, "Result")
	status, _ := b.Property(unit, "ExecMainStatus")
	t.Logf("%s: %s, exit status %s, after %s", unit, result, status, time.Since(began).Round(time.Millisecond))
	if startErr != nil || result != "success" || status != "0" {
		journal, _ := b.Journal(unit)
		return nil, false, fmt.Sprintf("start: %v; Result=%s ExecMainStatus=%s\n%s", startErr, result, status, journal)
	}
	journal, err := b.WaitJournal(unit, `{"summary":`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	run, err = parseProbe(journal)
	if err != nil {
		t.Fatalf("%s: %v\n%s", unit, err, journal)
	}
	return run, true, journal
}

// mustStart is start for a container that must run to a clean exit.
func mustStart(t *testing.T, b *box.Box, name, definition string) *probeRun {
	t.Helper()
	run, ok, journal := start(t, b, name, definition)
	if !ok {
		t.Fatalf("container %s did not run to a clean exit: %s", name, journal)
	}
	return run
}
