package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dockah/dockah/cmd/internal/usage"
)

// topProcess is a process of a container with the names of its ids: in
// the container's /etc/passwd and /etc/group (podman's user, group), and
// in the host's (huser, hgroup). Without a user namespace the ids are the
// same on both sides; only the names differ.
type topProcess struct {
	usage.Process
	User, RealUser, Group, RealGroup string
	HostUser, HostGroup              string
	// Label is the SELinux label, "-" without SELinux.
	Label string
}

// topColumn is one column of dockah top: its header and how a process
// shows in it. uptime is the system's, the clock of Process.Start.
type topColumn struct {
	header string
	value  func(p *topProcess, uptime time.Duration) string
}

// defaultTopColumns are podman top's default columns.
var defaultTopColumns = []string{"user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args"}

// topColumns are podman top's format descriptors that /proc answers. The
// pids are the host's (podman's hpid): those of systemctl status, kill and
// dockah ps; cpid is the pid inside the container.
var topColumns = map[string]topColumn{
	"user":    {"USER", func(p *topProcess, _ time.Duration) string { return p.User }},
	"ruser":   {"RUSER", func(p *topProcess, _ time.Duration) string { return p.RealUser }},
	"group":   {"GROUP", func(p *topProcess, _ time.Duration) string { return p.Group }},
	"rgroup":  {"RGROUP", func(p *topProcess, _ time.Duration) string { return p.RealGroup }},
	"huser":   {"HUSER", func(p *topProcess, _ time.Duration) string { return p.HostUser }},
	"hgroup":  {"HGROUP", func(p *topProcess, _ time.Duration) string { return p.HostGroup }},
	"pid":     {"PID", func(p *topProcess, _ time.Duration) string { return strconv.Itoa(p.PID) }},
	"hpid":    {"HPID", func(p *topProcess, _ time.Duration) string { return strconv.Itoa(p.PID) }},
	"cpid":    {"CPID", func(p *topProcess, _ time.Duration) string { return strconv.Itoa(p.NSPid) }},
	"ppid":    {"PPID", func(p *topProcess, _ time.Duration) string { return strconv.Itoa(p.PPID) }},
	"pgid":    {"PGID", func(p *topProcess, _ time.Duration) string { return strconv.Itoa(p.PGID) }},
	"pcpu":    {"%CPU", func(p *topProcess, up time.Duration) string { return fmt.Sprintf("%.3f", cpuShare(p, up)) }},
	"etime":   {"ELAPSED", func(p *topProcess, up time.Duration) string { return elapsed(p, up).Round(time.Second).String() }},
	"time":    {"TIME", func(p *topProcess, _ time.Duration) string { return p.CPU.String() }},
	"tty":     {"TTY", func(p *topProcess, _ time.Duration) string { return ttyName(p.TTY) }},
	"state":   {"STATE", func(p *topProcess, _ time.Duration) string { return p.State }},
	"nice":    {"NI", func(p *topProcess, _ time.Duration) string { return strconv.Itoa(p.Nice) }},
	"vsz":     {"VSZ", func(p *topProcess, _ time.Duration) string { return strconv.FormatUint(p.VSize/1024, 10) }},
	"rss":     {"RSS", func(p *topProcess, _ time.Duration) string { return strconv.FormatUint(p.RSS/1024, 10) }},
	"comm":    {"COMMAND", func(p *topProcess, _ time.Duration) string { return p.Comm }},
	"args":    {"COMMAND", func(p *topProcess, _ time.Duration) string { return commandLine(p) }},
	"label":   {"LABEL", func(p *topProcess, _ time.Duration) string { return p.Label }},
	"seccomp": {"SECCOMP", func(p *topProcess, _ time.Duration) string { return p.Seccomp }},
	"capinh":  {"INHERITED CAPS", func(p *topProcess, _ time.Duration) string { return p.CapInh }},
	"capprm":  {"PERMITTED CAPS", func(p *topProcess, _ time.Duration) string { return p.CapPrm }},
	"capeff":  {"EFFECTIVE CAPS", func(p *topProcess, _ time.Duration) string { return p.CapEff }},
	"capbnd":  {"BOUNDING CAPS", func(p *topProcess, _ time.Duration) string { return p.CapBnd }},
}

// aixCodes are the AIX format codes ps(1) and podman top take for
// descriptors.
var aixCodes = map[string]string{
	"%C": "pcpu", "%G": "group", "%P": "ppid", "%U": "user", "%a": "args", "%c": "comm", "%g": "rgroup",
	"%n": "nice", "%p": "pid", "%r": "pgid", "%t": "etime", "%u": "ruser", "%x": "time", "%y": "tty", "%z": "vsz",
}

// topDescriptors returns the columns args ask for: descriptors, given as
// separate arguments or comma-separated ("pid,user args"); podman top's
// default without any. ok is false when an argument is not a descriptor
// (a ps option such as -ef or aux).
func topDescriptors(args []string) ([]string, bool) {
	if len(args) == 0 {
		return defaultTopColumns, true
	}
	var out []string
	for _, a := range args {
		for _, d := range strings.Split(a, ",") {
			if code, ok := aixCodes[d]; ok {
				d = code
			}
			if _, ok := topColumns[d]; !ok {
				return nil, false
			}
			out = append(out, d)
		}
	}
	return out, true
}

// topDescriptorNames lists the descriptors, for help and errors.
func topDescriptorNames() string {
	var names []string
	for n := range topColumns {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

// printTop prints the processes in the columns asked for, sorted by pid.
func printTop(w io.Writer, procs []*topProcess, columns []string, uptime time.Duration) error {
	headers := make([]string, len(columns))
	for i, c := range columns {
		headers[i] = topColumns[c].header
	}
	tw := newTable(w, headers...)
	slices.SortFunc(procs, func(a, b *topProcess) int { return a.PID - b.PID })
	for _, p := range procs {
		values := make([]string, len(columns))
		for i, c := range columns {
			values[i] = topColumns[c].value(p, uptime)
		}
		fmt.Fprintln(tw, strings.Join(values, "\t"))
	}
	return tw.Flush()
}

// elapsed is how long the process has run.
func elapsed(p *topProcess, uptime time.Duration) time.Duration {
	return max(uptime-p.Start, 0)
}

// cpuShare is the CPU time used over the time run, in percent, as ps's
// %CPU.
func cpuShare(p *topProcess, uptime time.Duration) float64 {
	e := elapsed(p, uptime)
	if e <= 0 {
		return 0
	}
	return float64(p.CPU) / float64(e) * 100
}

// commandLine is the command line, or the name in brackets for a process
// without one (a zombie), as ps shows it.
func commandLine(p *topProcess) string {
	if len(p.Args) == 0 {
		return "[" + p.Comm + "]"
	}
	return strings.Join(p.Args, " ")
}

// ttyName names a terminal from its device number (tty_nr of
// /proc/PID/stat): pts/N for pseudo-terminals, as ps does; "?" for none.
func ttyName(dev uint64) string {
	major := (dev >> 8) & 0xfff
	minor := (dev & 0xff) | ((dev >> 12) & 0xfff00)
	switch {
	case dev == 0:
		return "?"
	case major >= 136 && major <= 143:
		return "pts/" + strconv.FormatUint((major-136)*256+minor, 10)
	case major == 4 && minor < 64:
		return "tty" + strconv.FormatUint(minor, 10)
	case major == 4:
		return "ttyS" + strconv.FormatUint(minor-64, 10)
	case major == 5 && minor == 1:
		return "console"
	}
	return fmt.Sprintf("%d,%d", major, minor)
}
