package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dockah/dockah/cmd/internal/usage"
)

// statsSample is what one reading of a container gives: counters, each
// nil where neither systemd nor the cgroup keeps it here.
type statsSample struct {
	Name, Service string
	MainPID       uint32
	At            time.Time
	// StartedAt is when the main process started: the zero of its CPU
	// counter for the first report.
	StartedAt *time.Time
	CPUNSec   *uint64
	Memory    *uint64
	// MemorySource is "cgroup", or "pss" where the cgroup's memory is not
	// accounted and the processes' proportional set sizes stand in.
	MemorySource string
	// MemoryLimit is the container's limit, or the host's memory when it
	// has none (as podman shows it).
	MemoryLimit         *uint64
	NetInput, NetOutput *uint64
	BlockRead           *uint64
	BlockWrite          *uint64
	PIDs                *uint64
}

// containerStats is one report of one container, as --format json
// prints it: numbers in bytes, nanoseconds and percent, null for what is
// unknown here.
type containerStats struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	MainPID uint32 `json:"mainPID"`
	// CPUPercent is the CPU used since the previous report (since the
	// start for the first), AvgCPUPercent since the start; 100 is one
	// CPU busy.
	CPUPercent    *float64 `json:"cpuPercent"`
	AvgCPUPercent *float64 `json:"avgCPUPercent"`
	CPUNSec       *uint64  `json:"cpuNSec"`
	MemoryBytes   *uint64  `json:"memoryBytes"`
	MemorySource  string   `json:"memorySource,omitempty"`
	MemoryLimit   *uint64  `json:"memoryLimitBytes"`
	MemoryPercent *float64 `json:"memoryPercent"`
	// Network bytes are null for a container in the host's network.
	NetInputBytes    *uint64 `json:"netInputBytes"`
	NetOutputBytes   *uint64 `json:"netOutputBytes"`
	BlockInputBytes  *uint64 `json:"blockInputBytes"`
	BlockOutputBytes *uint64 `json:"blockOutputBytes"`
	PIDs             *uint64 `json:"pids"`
}

// computeStats turns a sample into a report; prev is the previous sample
// of the same container, or nil for the first report, whose CPU % is
// then the average since the container started (as podman's first).
func computeStats(prev *statsSample, cur statsSample) containerStats {
	s := containerStats{
		Name: cur.Name, Service: cur.Service, MainPID: cur.MainPID,
		CPUNSec: cur.CPUNSec, MemoryBytes: cur.Memory, MemorySource: cur.MemorySource, MemoryLimit: cur.MemoryLimit,
		NetInputBytes: cur.NetInput, NetOutputBytes: cur.NetOutput,
		BlockInputBytes: cur.BlockRead, BlockOutputBytes: cur.BlockWrite, PIDs: cur.PIDs,
	}
	if cur.CPUNSec != nil && cur.StartedAt != nil {
		s.AvgCPUPercent = cpuPercent(0, *cur.CPUNSec, cur.At.Sub(*cur.StartedAt))
		s.CPUPercent = s.AvgCPUPercent
		if prev != nil && prev.CPUNSec != nil && prev.MainPID == cur.MainPID {
			s.CPUPercent = cpuPercent(*prev.CPUNSec, *cur.CPUNSec, cur.At.Sub(prev.At))
		}
	}
	if cur.Memory != nil && cur.MemoryLimit != nil && *cur.MemoryLimit > 0 {
		p := float64(*cur.Memory) / float64(*cur.MemoryLimit) * 100
		s.MemoryPercent = &p
	}
	return s
}

func cpuPercent(before, after uint64, elapsed time.Duration) *float64 {
	p, ok := usage.CPUPercent(before, after, elapsed)
	if !ok {
		return nil
	}
	return &p
}

// statsRow is a report as a --format template sees it, with podman's
// field names: the table's columns as text, and the raw numbers.
type statsRow struct {
	Name          string
	CPUPerc       string // "12.50%"
	AVGCPU        string // "3.10%"
	CPU           float64
	AvgCPU        float64
	CPUNano       uint64
	UpTime        string // the CPU time: "1.52s", "12m"
	MemUsage      string // "3.092MB / 16.7GB"
	MemUsageBytes string // "2.949MiB / 15.55GiB"
	MemPerc       string
	MemLimit      uint64
	NetIO         string // "1.2kB / 830B"
	NetInput      string
	NetOutput     string
	BlockIO       string
	BlockInput    string
	BlockOutput   string
	PIDs          string
	PIDS          string
}

// statsHeaders are the column headers of a "table ..." template.
var statsHeaders = map[string]string{
	"Name": "NAME", "CPUPerc": "CPU %", "AVGCPU": "AVG CPU %", "CPU": "CPU %", "AvgCPU": "AVG CPU %",
	"CPUNano": "CPU NANO", "UpTime": "CPU TIME", "MemUsage": "MEM USAGE / LIMIT", "MemUsageBytes": "MEM USAGE / LIMIT",
	"MemPerc": "MEM %", "MemLimit": "MEM LIMIT", "NetIO": "NET IO", "NetInput": "NET INPUT", "NetOutput": "NET OUTPUT",
	"BlockIO": "BLOCK IO", "BlockInput": "BLOCK INPUT", "BlockOutput": "BLOCK OUTPUT", "PIDs": "PIDS", "PIDS": "PIDS",
}

func newStatsFormat() rowFormat[statsRow] {
	return newRowFormat(statsRow{Name: "web"}, statsHeaders, "table {{.Name}} {{.CPUPerc}} {{.MemUsage}}")
}

// row is the report as templates and the table show it; "-" is unknown.
func (s containerStats) row() statsRow {
	r := statsRow{
		Name: s.Name, CPUPerc: percentOrDash(s.CPUPercent), AVGCPU: percentOrDash(s.AvgCPUPercent),
		UpTime: "-", MemPerc: percentOrDash(s.MemoryPercent),
		MemUsage: pairOrDash(s.MemoryBytes, s.MemoryLimit, decimalSize), MemUsageBytes: pairOrDash(s.MemoryBytes, s.MemoryLimit, binarySize),
		NetIO: pairOrDash(s.NetInputBytes, s.NetOutputBytes, decimalSize), NetInput: sizeOrDash(s.NetInputBytes), NetOutput: sizeOrDash(s.NetOutputBytes),
		BlockIO: pairOrDash(s.BlockInputBytes, s.BlockOutputBytes, decimalSize), BlockInput: sizeOrDash(s.BlockInputBytes), BlockOutput: sizeOrDash(s.BlockOutputBytes),
		PIDs: "-",
	}
	if s.CPUPercent != nil {
		r.CPU = *s.CPUPercent
	}
	if s.AvgCPUPercent != nil {
		r.AvgCPU = *s.AvgCPUPercent
	}
	if s.CPUNSec != nil {
		r.CPUNano, r.UpTime = *s.CPUNSec, cpuTime(*s.CPUNSec)
	}
	if s.MemoryLimit != nil {
		r.MemLimit = *s.MemoryLimit
	}
	if s.PIDs != nil {
		r.PIDs = strconv.FormatUint(*s.PIDs, 10)
	}
	r.PIDS = r.PIDs
	return r
}

// printStatsTable prints the stats table, podman's columns with the
// container's name for its ID.
func printStatsTable(w io.Writer, list []containerStats) error {
	tw := newTable(w, "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET IO", "BLOCK IO", "PIDS", "CPU TIME", "AVG CPU %")
	for _, s := range list {
		r := s.row()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs, r.UpTime, r.AVGCPU)
	}
	return tw.Flush()
}

func percentOrDash(p *float64) string {
	if p == nil {
		return "-"
	}
	return percent(*p)
}

func sizeOrDash(n *uint64) string {
	if n == nil {
		return "-"
	}
	return decimalSize(*n)
}

// pairOrDash is "A / B" (usage and limit, in and out), or "-" when A is
// unknown; an unknown B is "-" too.
func pairOrDash(a, b *uint64, size func(uint64) string) string {
	if a == nil {
		return "-"
	}
	second := "-"
	if b != nil {
		second = size(*b)
	}
	return size(*a) + " / " + second
}
