package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/dockah/dockah/activation"
)

// primeCgroupMove starts, in the background, a move of this process into
// the cgroup it is already in, so that systemd's move of the shim into
// its scope a few milliseconds later does not wait for an RCU grace
// period of its own.
//
// Every move of a process between cgroups (a write to cgroup.procs) takes
// the kernel's cgroup_threadgroup_rwsem for writing, a per-CPU rw
// semaphore whose writer first waits for an RCU grace period
// (rcu_sync_enter, then synchronize_rcu) unless a writer came less than a
// grace period before. On the 2-CPU benchmark machine that wait is about
// 10 ms, while systemd holds cgroup_mutex, and it was most of the time
// StartTransientUnit of the scope took (bench/results/STEPS.md, "run:
// started"). A move this command starts as soon as it runs, while it
// builds the definition and connects to systemd, takes the grace period
// then: systemd's move finds the semaphore in its fast-writer state, or
// waits only for the rest of the same grace period. The move changes
// nothing: the process stays where it is. Where the own cgroup is not in
// this cgroup namespace's view (a process entered into another's
// namespaces) or cgroup.procs is not writable, nothing is done.
func primeCgroupMove() {
	go func() {
		if err := moveToOwnCgroup(); err != nil && activation.Tracing() {
			activation.Trace("run: cgroup move not primed: " + err.Error())
		}
	}()
}

// moveToOwnCgroup writes this process's pid into the cgroup.procs of the
// cgroup it is in: the v2 hierarchy's, or on a host with v1 controllers
// only, systemd's own named hierarchy.
func moveToOwnCgroup() error {
	path, err := ownCgroup()
	if err != nil {
		return err
	}
	paths, err := activation.CgroupPathsOf(path)
	if err != nil {
		return err
	}
	dir := paths.Unified
	if dir == "" {
		dir = paths.Controllers["name=systemd"]
	}
	if dir == "" {
		return errors.New("no cgroup hierarchy that tracks processes is mounted")
	}
	f, err := os.OpenFile(dir+"/cgroup.procs", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(strconv.Itoa(os.Getpid()))
	return err
}

// ownCgroup returns this process's cgroup (cgroupIn of /proc/self/cgroup).
func ownCgroup() (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	defer f.Close()
	return cgroupIn(f)
}

// cgroupIn returns the cgroup a /proc/PID/cgroup file names in the v2
// hierarchy ("0::PATH"), or else in systemd's named v1 hierarchy
// ("N:name=systemd:PATH"); an error if there is none or it lies outside
// the reader's cgroup namespace ("/..").
func cgroupIn(r io.Reader) (string, error) {
	var unified, named string
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		line := lines.Text()
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			unified = p
		} else if _, p, ok := strings.Cut(line, ":name=systemd:"); ok {
			named = p
		}
	}
	if err := lines.Err(); err != nil {
		return "", err
	}
	path := unified
	if path == "" {
		path = named
	}
	if !strings.HasPrefix(path, "/") || path == "/.." || strings.HasPrefix(path, "/../") {
		return "", fmt.Errorf("no cgroup of its own in this cgroup namespace (%q)", path)
	}
	return path, nil
}
