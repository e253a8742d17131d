package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/unitgen"
)

func parseDefinition(t *testing.T, name, text string) *unitgen.Definition {
	t.Helper()
	def, err := unitgen.Parse(name, unitgen.File{Path: "/etc/dockah/containers/" + name + ".toml", Data: []byte(text)})
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func TestStatusFromUnits(t *testing.T) {
	def := parseDefinition(t, "web", goodDefinition)
	units := map[string]sdbus.UnitStatus{
		"web.service": {Name: "web.service", ActiveState: "active", SubState: "running"},
		"web.socket":  {Name: "web.socket", ActiveState: "active", SubState: "listening"},
	}
	st := newStatus(def, units)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	st.addServiceProperties(map[string]any{
		"MainPID": uint32(4242), "MemoryCurrent": uint64(3 << 20), "CPUUsageNSec": ^uint64(0),
		"TasksCurrent": uint64(2), "ExecMainStartTimestamp": uint64(now.Add(-90 * time.Minute).UnixMicro()),
	}, now)
	if !st.running() || st.MainPID != 4242 || st.Image != "library/nginx:1.25" {
		t.Errorf("status %+v", st)
	}
	if st.MemoryBytes == nil || *st.MemoryBytes != 3<<20 || st.CPUNSec != nil || st.UptimeSeconds == nil || *st.UptimeSeconds != 5400 {
		t.Errorf("usage: memory %v, cpu %v (want unaccounted), uptime %v", st.MemoryBytes, st.CPUNSec, st.UptimeSeconds)
	}
	want := []socketStatus{{Unit: "web.socket", Listen: []string{"8080"}, State: "active"}}
	if diff := cmp.Diff(want, st.Sockets); diff != "" {
		t.Errorf("sockets (-want +got):\n%s", diff)
	}

	ended := newStatus(def, map[string]sdbus.UnitStatus{"web.service": {Name: "web.service", ActiveState: "failed"}})
	ended.addServiceProperties(map[string]any{"MainPID": uint32(0), "ExecMainCode": int32(1), "ExecMainStatus": int32(3),
		"Result": "exit-code", "ExecMainExitTimestamp": uint64(now.UnixMicro())}, now)
	if ended.Exit == nil || ended.Exit.String() != "exited 3" || ended.Exit.Result != "exit-code" || exitColumn(ended) != "exited 3" {
		t.Errorf("ended: %+v, %q", ended.Exit, exitColumn(ended))
	}
	killed := newStatus(def, map[string]sdbus.UnitStatus{"web.service": {Name: "web.service", ActiveState: "inactive"}})
	killed.addServiceProperties(map[string]any{"ExecMainCode": int32(2), "ExecMainStatus": int32(9),
		"Result": "signal", "ExecMainExitTimestamp": uint64(now.UnixMicro())}, now)
	if exitColumn(killed) != "killed SIGKILL" {
		t.Errorf("killed: %q", exitColumn(killed))
	}
	never := newStatus(def, map[string]sdbus.UnitStatus{"web.service": {Name: "web.service", ActiveState: "inactive"}})
	never.addServiceProperties(map[string]any{"ExecMainCode": int32(0)}, now)
	if never.Exit != nil {
		t.Errorf("a container that never ran has an exit: %+v", never.Exit)
	}

	stopped := newStatus(def, map[string]sdbus.UnitStatus{})
	if stopped.running() || stopped.State != "-" || stopped.Sockets[0].State != "-" {
		t.Errorf("unknown units: %+v", stopped)
	}
	tmpl := newStatus(parseDefinition(t, "web@", "[container]\nimage = \"nginx\"\n"), units)
	if tmpl.State != "template" || tmpl.running() {
		t.Errorf("template: %+v", tmpl)
	}
}

func sampleStatuses() []containerStatus {
	mem, cpu, up := uint64(5<<20), uint64(1_500_000_000), int64(3700)
	started := time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC)
	return []containerStatus{
		{Name: "web", Service: "web.service", Image: "nginx:1.25", State: "active", SubState: "running", MainPID: 812,
			Sockets:     []socketStatus{{Unit: "web.socket", Listen: []string{"127.0.0.1:8080", "/run/web.sock"}, State: "active"}},
			MemoryBytes: &mem, CPUNSec: &cpu, StartedAt: &started, UptimeSeconds: &up},
		{Name: "worker", Service: "worker.service", Image: "worker:2", State: "inactive", SubState: "dead",
			Sockets: []socketStatus{{Unit: "worker.socket", Listen: []string{"9000"}, State: "inactive"}}},
	}
}

func TestStatusTable(t *testing.T) {
	var out bytes.Buffer
	if err := printStatusTable(&out, sampleStatuses()); err != nil {
		t.Fatal(err)
	}
	want := `NAME     STATE      PID   IMAGE        SOCKETS                        MEMORY    CPU     UPTIME   LAST EXIT
web      active     812   nginx:1.25   127.0.0.1:8080,/run/web.sock   5.0 MiB   1.50s   1h1m     -
worker   inactive   -     worker:2     9000 (inactive)                -         -       -        -
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestStatusJSON(t *testing.T) {
	var out bytes.Buffer
	if err := writeJSON(&out, sampleStatuses()); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"cpuNSec", "exit", "image", "labels", "mainPID", "memoryBytes", "name", "run", "service", "sockets", "startedAt", "state", "subState", "tasks", "uptimeSeconds"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if got[1]["memoryBytes"] != nil || got[1]["startedAt"] != nil || got[0]["startedAt"] != "2026-05-01T11:00:00Z" {
		t.Errorf("unknowns must be null, times RFC 3339: %v", got)
	}
	if !strings.Contains(out.String(), "\n  {\n    \"name\": \"web\",") {
		t.Errorf("not indented as image inspect is:\n%s", out.String())
	}
	// No container running: an empty array, not null.
	out.Reset()
	_ = writeJSON(&out, runningOnly(sampleStatuses()[1:]))
	if strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("empty list printed as %s", out.String())
	}
}

func TestHumanDurations(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{42 * time.Second, "42s"}, {12 * time.Minute, "12m"}, {3*time.Hour + 20*time.Minute, "3h20m"}, {52 * time.Hour, "2d4h"},
	} {
		if got := humanDuration(tc.d); got != tc.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	for n, want := range map[uint64]string{250_000_000: "0.25s", 75e9: "75s", 7300e9: "2h1m"} {
		if got := cpuTime(n); got != want {
			t.Errorf("cpuTime(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFormatFlag(t *testing.T) {
	var f outputFormat
	for _, ok := range []string{"table", "json"} {
		if err := f.Set(ok); err != nil || string(f) != ok {
			t.Errorf("Set(%q): %v", ok, err)
		}
	}
	if err := f.Set("yaml"); err == nil || !strings.Contains(err.Error(), "accepted: table, json") {
		t.Errorf("Set(yaml): %v", err)
	}
	_, _, err := dockah(t, "ps", "--format", "xml")
	if err == nil || !strings.Contains(err.Error(), `"xml" is not a format`) {
		t.Errorf("ps --format xml: %v", err)
	}
}

func TestFilterStatus(t *testing.T) {
	list := []containerStatus{
		{Name: "web", State: "active", Image: "nginx", Labels: map[string]string{"team": "web"}},
		{Name: "db", State: "failed", Image: "postgres", Exit: &exitStatus{How: "exited", Status: 1}},
		{Name: "run-1", State: "inactive", Image: "nginx", Run: true, Labels: map[string]string{"team": "ops"}},
	}
	names := func(l []containerStatus) string {
		var n []string
		for _, s := range l {
			n = append(n, s.Name)
		}
		return strings.Join(n, ",")
	}
	for _, tc := range []struct {
		filters []string
		want    string
	}{
		{nil, "web,db,run-1"},
		{[]string{"label=team"}, "web,run-1"},
		{[]string{"label=team=ops"}, "run-1"},
		{[]string{"status=running"}, "web"},
		{[]string{"status=exited"}, "db"},
		{[]string{"status=failed"}, "db"},
		{[]string{"image=nginx", "name=run"}, "run-1"},
	} {
		got, err := filterStatus(list, tc.filters)
		if err != nil || names(got) != tc.want {
			t.Errorf("filter %q = %q, %v; want %q", tc.filters, names(got), err, tc.want)
		}
	}
	for _, bad := range []string{"name", "color=red"} {
		if _, err := filterStatus(list, []string{bad}); err == nil {
			t.Errorf("filter %q: want an error", bad)
		}
	}
}

func TestParseStopRecords(t *testing.T) {
	data := []byte(`{"DOCKAH_CONTAINER":"web","DOCKAH_RESULT":"success","DOCKAH_EXIT_CODE":"exited","DOCKAH_EXIT_STATUS":"143","__REALTIME_TIMESTAMP":"1780000000000000"}
{"DOCKAH_CONTAINER":"web","DOCKAH_RESULT":"exit-code","DOCKAH_EXIT_CODE":"exited","DOCKAH_EXIT_STATUS":"1","__REALTIME_TIMESTAMP":"1770000000000000"}
not json
{"DOCKAH_CONTAINER":"db","DOCKAH_RESULT":"signal","DOCKAH_EXIT_CODE":"killed","DOCKAH_EXIT_STATUS":"KILL","__REALTIME_TIMESTAMP":"1780000000000000"}
{"DOCKAH_CONTAINER":"other","DOCKAH_RESULT":"success","DOCKAH_EXIT_CODE":"exited","DOCKAH_EXIT_STATUS":"0","__REALTIME_TIMESTAMP":"1780000000000000"}
`)
	got := parseStopRecords(data, map[string]bool{"web": true, "db": true, "never-stopped": true})
	if len(got) != 2 || got["web"].String() != "exited 143" || got["web"].Result != "success" || got["db"].String() != "killed SIGKILL" {
		t.Errorf("parseStopRecords = %v", got)
	}
	if got["web"].At == nil || got["web"].At.Unix() != 1780000000 {
		t.Errorf("time of web's stop: %v", got["web"].At)
	}
}

func TestPsTemplate(t *testing.T) {
	up := int64(65)
	list := []containerStatus{
		{Name: "web", State: "active", Image: "nginx", MainPID: 42, UptimeSeconds: &up, Labels: map[string]string{"team": "web"},
			Sockets: []socketStatus{{Unit: "web.socket", Listen: []string{"127.0.0.1:8080"}, State: "active"}}},
		{Name: "db", State: "failed", Image: "postgres", Exit: &exitStatus{How: "exited", Status: 1}},
	}
	var f psOptions
	f.format = newRowFormat(psRow{Labels: map[string]string{}}, nil, "")
	if err := f.format.Set(`{{.Names}} {{.Status}} {{.Ports}} {{index .Labels "team"}}`); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := f.format.execute(&out, psRows(list)); err != nil {
		t.Fatal(err)
	}
	if want := "web Up 1m 127.0.0.1:8080 web\ndb exited 1 - \n"; out.String() != want {
		t.Errorf("ps --format template:\n%q\nwant\n%q", out.String(), want)
	}
	if err := f.format.Set("{{.NoSuchField}}"); err == nil {
		t.Error("a template naming no field of a container was accepted")
	}
}
