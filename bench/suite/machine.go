package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/tests/box"
)

// machine describes the host the suite ran on.
type machine struct {
	start     time.Time
	kernel    string
	cpu       string
	cpus      int
	memory    string
	debian    string
	loadStart string
	loadEnd   string
}

func readMachine() machine {
	m := machine{start: time.Now(), cpus: runtime.NumCPU(), loadStart: loadAverage()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.kernel = unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
	}
	m.cpu = procField("/proc/cpuinfo", "model name")
	var kb int64
	if _, err := fmt.Sscanf(procField("/proc/meminfo", "MemTotal"), "%d kB", &kb); err == nil {
		m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	if data, err := os.ReadFile("/etc/debian_version"); err == nil {
		m.debian = "Debian " + strings.TrimSpace(string(data))
	}
	return m
}

// procField returns the value of the first "KEY: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// version is one tool's version line.
type version struct{ tool, line string }

func readVersions(b *box.Box) []version {
	cmds := []struct {
		tool string
		args []string
	}{
		{"dockah", []string{"dockah", "version"}},
		{"systemd", []string{"systemctl", "--version"}},
		{"crun", []string{"crun", "--version"}},
		{"runc", []string{"runc", "--version"}},
		{"podman", []string{"podman", "--version"}},
		{"conmon", []string{"conmon", "--version"}},
		{"hyperfine", []string{"hyperfine", "--version"}},
	}
	vs := []version{{"Go (the suite)", runtime.Version()}}
	for _, c := range cmds {
		out, err := b.Run(c.args...)
		line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		if err != nil {
			line, _, _ = strings.Cut(err.Error(), "\n")
		}
		vs = append(vs, version{c.tool, line})
	}
	return vs
}
