package cliverbs

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// statsEntry is the part of dockah stats --format json the tests read.
type statsEntry struct {
	Name          string   `json:"name"`
	MainPID       uint32   `json:"mainPID"`
	CPUPercent    *float64 `json:"cpuPercent"`
	AvgCPUPercent *float64 `json:"avgCPUPercent"`
	CPUNSec       *uint64  `json:"cpuNSec"`
	MemoryBytes   *uint64  `json:"memoryBytes"`
	MemorySource  string   `json:"memorySource"`
	MemoryLimit   *uint64  `json:"memoryLimitBytes"`
	MemoryPercent *float64 `json:"memoryPercent"`
	NetInput      *uint64  `json:"netInputBytes"`
	NetOutput     *uint64  `json:"netOutputBytes"`
	PIDs          *uint64  `json:"pids"`
}

func TestStats(t *testing.T) {
	b := cvBox(t)
	pid := start(t, b, "busy")
	defer stop(t, b, "busy")
	start(t, b, "hostnet")
	defer stop(t, b, "hostnet")
	time.Sleep(time.Second) // some CPU time for busy's loop

	var list []statsEntry
	dockahJSON(t, b, &list, "stats", "--no-stream", "--format", "json")
	byName := map[string]statsEntry{}
	for _, e := range list {
		byName[e.Name] = e
	}
	busy, ok := byName["busy"]
	if !ok || len(list) != 2 {
		t.Fatalf("stats of every running container: %+v", list)
	}
	t.Logf("busy: cpu %v%% of %v ns, memory %v (%s) of %v, pids %v, net %v/%v",
		deref(busy.CPUPercent), deref(busy.CPUNSec), deref(busy.MemoryBytes), busy.MemorySource, deref(busy.MemoryLimit),
		deref(busy.PIDs), deref(busy.NetInput), deref(busy.NetOutput))
	if strconv.Itoa(int(busy.MainPID)) != pid {
		t.Errorf("busy's main pid %d, systemd says %s", busy.MainPID, pid)
	}
	if busy.CPUNSec == nil || *busy.CPUNSec == 0 || busy.CPUPercent == nil || *busy.CPUPercent <= 0 || busy.AvgCPUPercent == nil {
		t.Errorf("busy burns CPU, yet: cpu %v ns, %v%%", deref(busy.CPUNSec), deref(busy.CPUPercent))
	}
	// dd holds an 8 MiB buffer.
	if busy.MemoryBytes == nil || *busy.MemoryBytes < 8<<20 || *busy.MemoryBytes > 1<<30 || (busy.MemorySource != "cgroup" && busy.MemorySource != "pss") {
		t.Errorf("busy's memory %v (%s), want 8 MiB to 1 GiB", deref(busy.MemoryBytes), busy.MemorySource)
	}
	if busy.MemoryLimit == nil || busy.MemoryBytes == nil || *busy.MemoryLimit <= *busy.MemoryBytes || busy.MemoryPercent == nil {
		t.Errorf("busy's memory limit %v, percent %v", deref(busy.MemoryLimit), busy.MemoryPercent)
	}
	if busy.PIDs == nil || *busy.PIDs < 4 {
		t.Errorf("busy runs sh, its loop, dd and sleep; pids %v", deref(busy.PIDs))
	}
	if busy.NetInput == nil || busy.NetOutput == nil {
		t.Error("busy has its own network namespace, yet no network counters")
	}
	if h := byName["hostnet"]; h.NetInput != nil || h.NetOutput != nil || h.PIDs == nil {
		t.Errorf("hostnet, in the host's network: %+v", h)
	}

	// The table, and a CPU % that parses.
	out := b.Dockah(t, "stats", "--no-stream", "busy")
	t.Logf("dockah stats --no-stream busy:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME ") || !strings.Contains(lines[0], "MEM USAGE / LIMIT") {
		t.Fatalf("stats --no-stream busy:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if cpu, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64); f[0] != "busy" || err != nil || cpu <= 0 {
		t.Errorf("row %q: CPU %% %q (%v)", lines[1], f[1], err)
	}

	// Streaming: a report per interval until interrupted.
	r := b.Exec(t, "", "timeout", "3.5", "dockah", "stats", "--interval", "1s", "--no-reset", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}", "busy")
	reports := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if r.Status != 124 || len(reports) < 3 {
		t.Errorf("streaming: status %d (want 124), %d reports:\n%s%s", r.Status, len(reports), r.Stdout, r.Stderr)
	}
	for _, rep := range reports {
		if f := strings.Fields(rep); len(f) != 3 || f[0] != "busy" || !strings.HasSuffix(f[1], "%") {
			t.Errorf("report %q", rep)
		}
	}

	r = b.Exec(t, "", "dockah", "stats", "--no-stream", "fwd")
	if r.Status == 0 || !strings.Contains(r.Stderr, "container fwd is not running") {
		t.Errorf("stats of a stopped container: status %d, %s", r.Status, r.Stderr)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
