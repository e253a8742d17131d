package usage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTicks is USER_HZ, the unit of the times in /proc/PID/stat: 100 on
// every Linux architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo).
const ClockTicks = 100

// pageSize converts /proc/PID/stat's rss, in pages.
var pageSize = uint64(os.Getpagesize())

// Process is one process as /proc shows it to the host: pids are the
// host's, NSPid the pid inside the process's own pid namespace.
type Process struct {
	PID, PPID, PGID int
	// NSPid is the pid in the innermost pid namespace (a container's
	// init is 1 there); PID when the process is in the host's.
	NSPid int
	State string // R, S, D, Z, T...
	Nice  int
	// TTY is the device number of the controlling terminal, 0 for none.
	TTY uint64
	// CPU is the user and system time used.
	CPU time.Duration
	// Start is when the process started, after boot.
	Start time.Duration
	// VSize and RSS are in bytes.
	VSize, RSS uint64
	// UID and GID are the real and effective ids.
	RealUID, UID, RealGID, GID int
	// Comm is the name (comm), Args the command line; empty for a
	// kernel thread or a zombie.
	Comm string
	Args []string
	// Seccomp is "disabled", "strict" or "filter".
	Seccomp string
	// Capability sets, as the hex masks /proc/PID/status shows.
	CapInh, CapPrm, CapEff, CapBnd string
}

// ReadProcess reads /proc/PID/{stat,status,cmdline}. A process gone in
// the meantime is an error wrapping fs.ErrNotExist or ESRCH.
func ReadProcess(pid int) (*Process, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	stat, err := os.ReadFile(dir + "stat")
	if err != nil {
		return nil, err
	}
	p, err := ParseStat(string(stat))
	if err != nil {
		return nil, fmt.Errorf("read process %d: %w", pid, err)
	}
	status, err := os.ReadFile(dir + "status")
	if err != nil {
		return nil, err
	}
	if err := p.parseStatus(string(status)); err != nil {
		return nil, fmt.Errorf("read process %d: %w", pid, err)
	}
	cmdline, err := os.ReadFile(dir + "cmdline")
	if err != nil {
		return nil, err
	}
	p.Args = ParseCmdline(cmdline)
	return p, nil
}

// ParseStat parses /proc/PID/stat: "PID (COMM) STATE PPID PGRP ...". COMM
// may hold spaces and parentheses: it ends at the last ")".
func ParseStat(line string) (*Process, error) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return nil, fmt.Errorf("bad stat line %q", line)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return nil, fmt.Errorf("bad stat line %q", line)
	}
	// Fields from the state on; the man page's numbering starts at 3.
	f := strings.Fields(line[end+1:])
	if len(f) < 22 {
		return nil, fmt.Errorf("bad stat line %q: %d fields after the name", line, len(f))
	}
	num := func(i int) uint64 {
		n, _ := strconv.ParseUint(f[i-3], 10, 64)
		return n
	}
	signed := func(i int) int {
		n, _ := strconv.Atoi(f[i-3])
		return n
	}
	return &Process{
		PID: pid, Comm: line[open+1 : end], State: f[0],
		PPID: signed(4), PGID: signed(5), TTY: num(7),
		CPU:   ticks(num(14) + num(15)),
		Nice:  signed(19),
		Start: ticks(num(22)),
		VSize: num(23), RSS: num(24) * pageSize,
		NSPid: pid,
	}, nil
}

// ticks converts clock ticks to a duration.
func ticks(n uint64) time.Duration {
	return time.Duration(n) * time.Second / ClockTicks
}

// parseStatus takes the ids, the innermost pid, seccomp and capabilities
// from /proc/PID/status.
func (p *Process) parseStatus(text string) error {
	seen := 0
	for _, line := range strings.Split(text, "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(value)
		switch key {
		case "Uid", "Gid":
			if len(f) < 2 {
				return fmt.Errorf("bad status line %q", line)
			}
			real, _ := strconv.Atoi(f[0])
			eff, _ := strconv.Atoi(f[1])
			if key == "Uid" {
				p.RealUID, p.UID = real, eff
			} else {
				p.RealGID, p.GID = real, eff
			}
			seen++
		case "NSpid":
			if len(f) > 0 {
				p.NSPid, _ = strconv.Atoi(f[len(f)-1])
			}
		case "Seccomp":
			p.Seccomp = map[string]string{"0": "disabled", "1": "strict", "2": "filter"}[strings.TrimSpace(value)]
		case "CapInh":
			p.CapInh = strings.TrimSpace(value)
		case "CapPrm":
			p.CapPrm = strings.TrimSpace(value)
		case "CapEff":
			p.CapEff = strings.TrimSpace(value)
		case "CapBnd":
			p.CapBnd = strings.TrimSpace(value)
		}
	}
	if seen != 2 {
		return errors.New("status has no Uid or Gid")
	}
	return nil
}

// ParseCmdline splits /proc/PID/cmdline at its NUL bytes.
func ParseCmdline(data []byte) []string {
	data = bytes.TrimRight(data, "\x00")
	if len(data) == 0 {
		return nil
	}
	return strings.Split(string(data), "\x00")
}

// Uptime is how long the system has been up (/proc/uptime), the clock
// that Process.Start counts on.
func Uptime() (time.Duration, error) {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	return ParseUptime(string(data))
}

// ParseUptime parses /proc/uptime: "SECONDS.FRACTION IDLE".
func ParseUptime(text string) (time.Duration, error) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return 0, fmt.Errorf("bad uptime %q", text)
	}
	s, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("bad uptime %q", text)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// PidNamespace names the pid namespace of pid ("pid:[4026532251]").
func PidNamespace(pid int) (string, error) {
	return os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
}
