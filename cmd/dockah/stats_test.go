package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/cmd/internal/usage"
)

func u64(n uint64) *uint64 { return &n }

func TestComputeStats(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := start.Add(100 * time.Second)
	first := statsSample{Name: "web", MainPID: 42, At: at, StartedAt: &start, CPUNSec: u64(50e9), Memory: u64(25 << 20), MemoryLimit: u64(100 << 20)}
	later := first
	later.At, later.CPUNSec = at.Add(2*time.Second), u64(53e9)
	restarted := later
	restarted.MainPID = 77
	tests := []struct {
		name                string
		prev                *statsSample
		cur                 statsSample
		cpu, avgCPU, memory *float64
	}{
		// The first report has no earlier sample: the average since the
		// start, as podman's first.
		{"first", nil, first, ptr(50.0), ptr(50.0), ptr(25.0)},
		{"two samples", &first, later, ptr(150.0), ptr(53.0 / 102 * 100), ptr(25.0)},
		{"restarted meanwhile", &first, restarted, ptr(53.0 / 102 * 100), ptr(53.0 / 102 * 100), ptr(25.0)},
		{"nothing known", nil, statsSample{Name: "x", At: at}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := computeStats(tt.prev, tt.cur)
			approx := cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })
			if diff := cmp.Diff([]*float64{tt.cpu, tt.avgCPU, tt.memory}, []*float64{got.CPUPercent, got.AvgCPUPercent, got.MemoryPercent}, approx); diff != "" {
				t.Errorf("cpu, avg cpu, memory %% (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestMergeSample: systemd's accounting wins where it has it; systemd's
// "not accounted" (the largest uint64) falls back to the cgroup's files.
func TestMergeSample(t *testing.T) {
	notSet := ^uint64(0)
	cg := usage.Counters{CPUNSec: u64(1), MemoryBytes: u64(2), MemoryMax: u64(3), Tasks: u64(4), IORead: u64(5), IOWrite: u64(6)}
	at := time.Unix(1000, 0)
	props := map[string]any{
		"MainPID": uint32(42), "ExecMainStartTimestamp": uint64(900e6),
		"CPUUsageNSec": uint64(10), "MemoryCurrent": uint64(20), "MemoryMax": uint64(30), "TasksCurrent": uint64(40),
		"IOReadBytes": notSet, "IOWriteBytes": notSet,
	}
	got := mergeSample("web", "web.service", props, cg, at)
	started := time.Unix(900, 0)
	want := statsSample{Name: "web", Service: "web.service", MainPID: 42, At: at, StartedAt: &started,
		CPUNSec: u64(10), Memory: u64(20), MemorySource: "cgroup", MemoryLimit: u64(30), PIDs: u64(40), BlockRead: u64(5), BlockWrite: u64(6)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("systemd first (-want +got):\n%s", diff)
	}
	for _, k := range []string{"CPUUsageNSec", "MemoryCurrent", "MemoryMax", "TasksCurrent"} {
		props[k] = notSet
	}
	got = mergeSample("web", "web.service", props, cg, at)
	want.CPUNSec, want.Memory, want.MemoryLimit, want.PIDs = u64(1), u64(2), u64(3), u64(4)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cgroup files (-want +got):\n%s", diff)
	}
	got = mergeSample("web", "web.service", props, usage.Counters{}, at)
	if got.Memory != nil || got.MemorySource != "" || got.CPUNSec != nil || got.PIDs != nil || got.BlockRead != nil {
		t.Errorf("nothing known, yet %+v", got)
	}
}

// statsFixture is a report of each kind: everything known; a container
// in the host's network whose memory is its processes' PSS, under a
// limit; nothing known.
var statsFixture = []containerStats{
	{Name: "web", Service: "web.service", MainPID: 4211, CPUPercent: ptr(12.5), AvgCPUPercent: ptr(3.1), CPUNSec: u64(1_520_000_000),
		MemoryBytes: u64(3_092_000), MemorySource: "cgroup", MemoryLimit: u64(16_700_000_000), MemoryPercent: ptr(0.0185),
		NetInputBytes: u64(1_200), NetOutputBytes: u64(830), BlockInputBytes: u64(4_096_000), BlockOutputBytes: u64(0), PIDs: u64(3)},
	{Name: "db@blue", Service: "db@blue.service", MainPID: 5000, CPUPercent: ptr(250.456), AvgCPUPercent: ptr(99.99), CPUNSec: u64(4000e9),
		MemoryBytes: u64(268_435_456), MemorySource: "pss", MemoryLimit: u64(536_870_912), MemoryPercent: ptr(50.0), PIDs: u64(12)},
	{Name: "idle", Service: "idle.service", MainPID: 7},
}

func TestStatsOutput(t *testing.T) {
	var out bytes.Buffer
	if err := printStatsTable(&out, statsFixture); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "stats.txt", out.String())

	f := newStatsFormat()
	if err := f.Set("table {{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemUsageBytes}} {{.PIDs}}"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := printStats(&out, &statsOptions{format: f}, statsFixture); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "stats-template.txt", out.String())

	if err := f.Set(`{{.Name}} {{.CPU}} {{.CPUNano}} {{.MemLimit}} {{.NetInput}}/{{.NetOutput}} {{.BlockIO}} {{json .PIDS}}`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := printStats(&out, &statsOptions{format: f}, statsFixture[:1]); err != nil {
		t.Fatal(err)
	}
	if want := "web 12.5 1520000000 16700000000 1.2kB/830B 4.096MB / 0B \"3\"\n"; out.String() != want {
		t.Errorf("template: got %q, want %q", out.String(), want)
	}
	for _, bad := range []string{"{{.ID}}", "{{.Name", "chart"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("--format %q was accepted", bad)
		}
	}

	out.Reset()
	if err := printStats(&out, &statsOptions{format: newStatsFormat()}, nil); err != nil || out.String() != "NAME   CPU %   MEM USAGE / LIMIT   MEM %   NET IO   BLOCK IO   PIDS   CPU TIME   AVG CPU %\n" {
		t.Errorf("no container: %v %q", err, out.String())
	}
	jf := newStatsFormat()
	if err := jf.Set("json"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := printStats(&out, &statsOptions{format: jf}, statsFixture); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got) != 3 {
		t.Fatalf("json: %v\n%s", err, out.String())
	}
	if got[0]["memoryBytes"] != 3092000.0 || got[0]["memorySource"] != "cgroup" || got[2]["memoryBytes"] != nil || got[2]["cpuPercent"] != nil || got[1]["netInputBytes"] != nil {
		t.Errorf("json values:\n%s", out.String())
	}
	if _, ok := got[2]["memorySource"]; ok || !strings.Contains(out.String(), `"pids": 12`) {
		t.Errorf("json fields:\n%s", out.String())
	}
}

func TestStatsInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"5": 5 * time.Second, "1.5s": 1500 * time.Millisecond, "500ms": 500 * time.Millisecond} {
		var i interval
		if err := i.Set(in); err != nil || time.Duration(i) != want {
			t.Errorf("--interval %s: %v, %v", in, time.Duration(i), err)
		}
	}
	for _, bad := range []string{"0", "-1", "soon", "-2s"} {
		var i interval
		if err := i.Set(bad); err == nil {
			t.Errorf("--interval %s was accepted", bad)
		}
	}
}
