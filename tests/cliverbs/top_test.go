package cliverbs

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
)

// cgroupProcs lists the processes of a unit's cgroup as the box's kernel
// has them.
func cgroupProcs(t *testing.T, b *box.Box, unit string) []string {
	t.Helper()
	cg, err := b.Property(unit, "ControlGroup")
	if err != nil || cg == "" {
		t.Fatalf("%s has no cgroup (%v)", unit, err)
	}
	dir := "/sys/fs/cgroup" + cg
	if b.Layout() == box.Hybrid {
		dir = "/sys/fs/cgroup/unified" + cg
	}
	out, err := b.Run("cat", dir+"/cgroup.procs")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(out)
}

// topRows parses dockah top's table: the header's fields, and each row
// split into as many columns, the last taking the rest of the line.
func topRows(t *testing.T, out string) ([]string, [][]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := strings.Fields(lines[0])
	var rows [][]string
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < len(header) {
			t.Fatalf("row %q has fewer columns than %q", line, lines[0])
		}
		rows = append(rows, append(f[:len(header)-1:len(header)-1], strings.Join(f[len(header)-1:], " ")))
	}
	return header, rows
}

func TestTop(t *testing.T) {
	b := cvBox(t)
	pid := start(t, b, "busy")
	defer stop(t, b, "busy")
	var procs []string
	// The shell forks its loop, dd and sleep: wait for all of them.
	if !box.Eventually(10*time.Second, func() bool { procs = cgroupProcs(t, b, "busy.service"); return len(procs) >= 4 }) {
		t.Fatalf("busy's cgroup has %v", procs)
	}
	out := b.Dockah(t, "top", "busy")
	t.Logf("dockah top busy:\n%s", out)
	header, rows := topRows(t, out)
	if strings.Join(header, " ") != "USER PID PPID %CPU ELAPSED TTY TIME COMMAND" {
		t.Errorf("header %q", header)
	}
	var commands []string
	for _, r := range rows {
		if !slices.Contains(procs, r[1]) || r[0] != "root" || r[5] != "?" {
			t.Errorf("row %q: not one of busy's processes %v, or not root without a terminal", r, procs)
		}
		if r[1] == pid && (r[2] == "0" || !strings.HasPrefix(r[7], "/bin/sh -c trap")) {
			t.Errorf("the init's row %q", r)
		}
		commands = append(commands, r[7])
	}
	// busybox runs dd in a fork of the shell, without an exec: it shows
	// the shell's command line, as in ps.
	if len(rows) != len(procs) || !slices.Contains(commands, "sleep 100000") {
		t.Errorf("top busy shows %q; the cgroup has %v", commands, procs)
	}

	// The loop's share of a CPU shows once it has run a little.
	busyLoop := func() bool {
		_, rows := topRows(t, b.Dockah(t, "top", "busy", "%C", "etime"))
		for _, r := range rows {
			if r[0] != "0.000" && r[1] != "0s" {
				return true
			}
		}
		return false
	}
	if !box.Eventually(10*time.Second, busyLoop) {
		t.Errorf("no process of busy uses CPU:\n%s", b.Dockah(t, "top", "busy", "pid", "%C", "etime", "time"))
	}

	// Descriptors: the init is pid 1 inside; on the host it is the
	// first ID of its user namespace's range (a number: the host's
	// files do not name it), root in the container.
	uidMap := strings.Fields(b.Exec(t, "", "cat", "/proc/"+pid+"/uid_map").Stdout)
	if len(uidMap) != 3 || uidMap[0] != "0" || uidMap[1] == "0" {
		t.Fatalf("busy's uid_map %q: want a range of its own (the default)", uidMap)
	}
	_, rows = topRows(t, b.Dockah(t, "top", "busy", "pid,cpid", "huser", "user", "seccomp", "args"))
	found := false
	for _, r := range rows {
		if r[0] == pid {
			found = r[1] == "1" && r[2] == uidMap[1] && r[3] == "root" && r[4] == "filter"
		}
	}
	if !found {
		t.Errorf("no row for the init %s with cpid 1, host user %s, user root and a seccomp filter: %q", pid, uidMap[1], rows)
	}

	// ps options: the host's ps, the container's lines only.
	out = b.Dockah(t, "top", "busy", "-eo", "pid,comm")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if strings.Fields(lines[0])[0] != "PID" || len(lines)-1 != len(rows) {
		t.Errorf("top busy -eo pid,comm kept %d lines, want %d:\n%s", len(lines)-1, len(rows), out)
	}
	for _, line := range lines[1:] {
		if !slices.Contains(procs, strings.Fields(line)[0]) {
			t.Errorf("ps line %q is not busy's", line)
		}
	}
	r := b.Exec(t, "", "dockah", "top", "busy", "-o", "comm")
	if r.Status == 0 || !strings.Contains(r.Stderr, "no PID column") {
		t.Errorf("ps options without a PID column: status %d, %s", r.Status, r.Stderr)
	}
	r = b.Exec(t, "", "dockah", "top", "hostnet")
	if r.Status == 0 || !strings.Contains(r.Stderr, "container hostnet is not running") {
		t.Errorf("top of a container that does not run: status %d, %s", r.Status, r.Stderr)
	}
}

// TestTopLeavesOutTheForwarder: a container reached through a forwarded
// socket has dockah's forwarder in its cgroup; top shows the container's
// processes only.
func TestTopLeavesOutTheForwarder(t *testing.T) {
	b := cvBox(t)
	if _, err := b.Systemctl("start", "fwd.socket"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = b.Systemctl("stop", "fwd.socket", "fwd.service") }()
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get("http://" + fwdAddr + "/")
	if err != nil {
		t.Fatalf("GET %s: %v", fwdAddr, err)
	}
	resp.Body.Close()
	if err := b.WaitUnitState("fwd.service", 10*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	procs := cgroupProcs(t, b, "fwd.service")
	var helpers []string
	for _, p := range procs {
		if comm, _ := b.Run("cat", "/proc/"+p+"/comm"); strings.TrimSpace(comm) == "dockah-activate" {
			helpers = append(helpers, p)
		}
	}
	if len(helpers) == 0 {
		t.Logf("no forwarder in fwd's cgroup %v: nothing to leave out", procs)
	}
	_, rows := topRows(t, b.Dockah(t, "top", "fwd", "pid", "comm"))
	if len(rows) != len(procs)-len(helpers) {
		t.Errorf("top fwd shows %q; the cgroup has %v, of which %v are dockah's", rows, procs, helpers)
	}
	for _, r := range rows {
		if slices.Contains(helpers, r[0]) || r[1] != "httpd" {
			t.Errorf("top fwd shows %q", r)
		}
	}
}
