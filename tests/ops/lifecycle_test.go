package ops

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
)

// machines lists the machine names machinectl shows.
func machines(t *testing.T, b *box.Box) []string {
	t.Helper()
	r := run(t, b, "machinectl", "list", "--no-legend", "--no-pager")
	if r.status != 0 {
		t.Fatalf("machinectl list: %s%s", r.stdout, r.stderr)
	}
	var names []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

func TestMachinectlFollowsContainerLife(t *testing.T) {
	b := opsBox(t)
	stop(t, b, "sleeper")
	if slices.Contains(machines(t, b), "sleeper") {
		t.Fatalf("sleeper is a machine before it starts: %v", machines(t, b))
	}
	start(t, b, "sleeper")
	list := run(t, b, "machinectl", "list", "--no-legend", "--no-pager").stdout
	if !strings.Contains(list, "sleeper container dockah") {
		t.Errorf("machinectl list does not show the running container as class container, service dockah:\n%s", list)
	}
	pid := mainPID(t, b, "sleeper.service")
	status := run(t, b, "machinectl", "status", "--no-pager", "sleeper")
	for _, want := range []string{"Leader: " + pid, "Service: dockah; class container", "Unit: sleeper.service", "sleep 100000"} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("machinectl status lacks %q:\n%s%s", want, status.stdout, status.stderr)
		}
	}
	stop(t, b, "sleeper")
	if !eventually(10*time.Second, func() bool { return !slices.Contains(machines(t, b), "sleeper") }) {
		t.Errorf("sleeper is still a machine after it stopped: %v", machines(t, b))
	}
}

func TestStartStopRestart(t *testing.T) {
	b := opsBox(t)
	start(t, b, "sleeper")
	if state, _ := b.Property("sleeper.service", "ActiveState"); state != "active" {
		t.Fatalf("after dockah start: %s", state)
	}
	before := mainPID(t, b, "sleeper.service")
	dockah(t, b, "restart", "sleeper")
	if after := mainPID(t, b, "sleeper.service"); after == before || after == "0" {
		t.Errorf("restart kept main pid %s (now %s)", before, after)
	}
	dockah(t, b, "stop", "sleeper")
	if state, _ := b.Property("sleeper.service", "ActiveState"); state != "inactive" || mainPID(t, b, "sleeper.service") != "0" {
		t.Errorf("after dockah stop: %s, want inactive", state)
	}
	// The init is systemd's own child, so a stop is a SIGTERM it waits
	// for, not a SIGKILL: the unit ends clean.
	if result, _ := b.Property("sleeper.service", "Result"); result != "success" {
		t.Errorf("after dockah stop: Result=%s, want success", result)
	}
	// Several names, one of them unknown: the others are done, each
	// failure is a line, and the status says it failed.
	_, _ = b.Systemctl("reset-failed", "sleeper.service")
	r := run(t, b, "dockah", "start", "sleeper", "nosuch")
	if r.status == 0 || !strings.Contains(r.stderr, "no container nosuch") {
		t.Errorf("start sleeper nosuch: status %d\n%s", r.status, r.stderr)
	}
	if state, _ := b.Property("sleeper.service", "ActiveState"); state != "active" {
		t.Errorf("sleeper not started beside a failing name: %s", state)
	}
	stop(t, b, "sleeper")
	oneLineError(t, run(t, b, "dockah", "start", "nosuch"), "no container nosuch")
	oneLineError(t, run(t, b, "dockah", "stop", "web@"), "not a container or instance name")
}

// auditRecord is the part of a journal entry (journalctl -o json) the
// audit test reads.
type auditRecord struct {
	Event     string `json:"DOCKAH_EVENT"`
	Container string `json:"DOCKAH_CONTAINER"`
	Image     string `json:"DOCKAH_IMAGE"`
	Unit      string `json:"UNIT"`
	Label     string `json:"DOCKAH_LABEL"`
	Result    string `json:"DOCKAH_RESULT"`
	Object    string `json:"OBJECT_SYSTEMD_UNIT"`
	Message   string `json:"MESSAGE"`
}

func auditRecords(t *testing.T, b *box.Box, cursor string) []auditRecord {
	t.Helper()
	// Filtered here: journalctl 252 with matches skips the first match
	// after the cursor.
	r := run(t, b, "journalctl", "--no-pager", "-o", "json", "--after-cursor", cursor)
	var out []auditRecord
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.Contains(line, auditMessageID) {
			continue
		}
		var rec auditRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a record whose fields are not single strings (duplicated field?): %v\n%s", err, line)
		}
		if rec.Container == "sleeper" {
			out = append(out, rec)
		}
	}
	return out
}

func TestStartAndStopAreAudited(t *testing.T) {
	b := opsBox(t)
	stop(t, b, "sleeper")
	since := strings.TrimSpace(run(t, b, "date", "+%Y-%m-%d %H:%M:%S").stdout)
	cursor := journalCursor(t, b)
	start(t, b, "sleeper")
	dockah(t, b, "stop", "sleeper")
	result, err := b.Property("sleeper.service", "Result")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = b.Systemctl("reset-failed", "sleeper.service")
	var recs []auditRecord
	eventually(10*time.Second, func() bool {
		recs = auditRecords(t, b, cursor)
		return len(recs) >= 2
	})
	if len(recs) != 2 {
		t.Fatalf("%d audit records, want a start and a stop: %+v", len(recs), recs)
	}
	for i, want := range []struct{ event, result string }{{"start", "success"}, {"stop", result}} {
		r := recs[i]
		if r.Event != want.event || r.Image != "ops:test" || r.Unit != "sleeper.service" || r.Label != "none" || r.Result != want.result {
			t.Errorf("%s record %+v, want result %s", want.event, r, want.result)
		}
		if !strings.HasPrefix(r.Message, "container sleeper ") || r.Object != "sleeper.service" {
			t.Errorf("%s record %+v: message, or not the container's unit", want.event, r)
		}
	}
	// The records are the container's: journalctl -u and dockah logs show them.
	if logs := dockah(t, b, "logs", "--no-pager", "--since", since, "sleeper"); !strings.Contains(logs, "container sleeper started") || !strings.Contains(logs, "container sleeper stopped") {
		t.Errorf("dockah logs lacks the records:\n%s", logs)
	}
}

// journalCursor is the cursor of the journal's last entry.
func journalCursor(t *testing.T, b *box.Box) string {
	t.Helper()
	out := run(t, b, "journalctl", "--no-pager", "-n", "0", "--show-cursor").stdout
	_, cursor, ok := strings.Cut(out, "-- cursor: ")
	if !ok {
		t.Fatalf("no cursor in %q", out)
	}
	return strings.TrimSpace(cursor)
}
