package main

import (
	"github.com/dockah/dockah/bench/measure"

	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// memUse is the resident memory of the processes of a variant that are
// not the container's own.
type memUse struct {
	helpers    []proc // in the box's pid namespace: runtimes, monitors, shims
	containers int    // processes in another pid namespace: the container
}

type proc struct {
	pid      int
	comm     string
	rss, pss int // KiB, from /proc/PID/smaps_rollup
}

func (m *memUse) rss() (kib int) {
	for _, p := range m.helpers {
		kib += p.rss
	}
	return kib
}

func (m *memUse) pss() (kib int) {
	for _, p := range m.helpers {
		kib += p.pss
	}
	return kib
}

// names lists the helpers' commands, "conmon" or "crun, crun".
func (m *memUse) names() string {
	var n []string
	for _, p := range m.helpers {
		n = append(n, p.comm)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// memScript prints, for each unit, every process of the unit's cgroup and
// those below it: "helper UNIT PID COMM RSS PSS" for a process in the box's
// own pid namespace (a runtime, a monitor, a shim), "container UNIT PID"
// for one in another (the container's own). runc moves the container into
// a cgroup of its own; nspawn and podman into cgroups below or beside the
// unit's: the pid namespace decides, not the cgroup.
const memScript = `set -u
root=/sys/fs/cgroup
[ -e /sys/fs/cgroup/unified/cgroup.procs ] && root=/sys/fs/cgroup/unified
box=$(readlink /proc/1/ns/pid)
for unit in "$@"; do
	cg=$(systemctl show -P ControlGroup "$unit")
	[ -n "$cg" ] || continue
	for pid in $(find "$root$cg" -name cgroup.procs -exec cat {} +); do
		ns=$(readlink /proc/$pid/ns/pid) || continue
		if [ "$ns" != "$box" ]; then echo "container $unit $pid"; continue; fi
		comm=$(tr ' ' _ </proc/$pid/comm) || continue
		awk -v u="$unit" -v p="$pid" -v c="$comm" '/^Rss:/{r=$2} /^Pss:/{s=$2} END{if (s != "") print "helper", u, p, c, r, s}' /proc/$pid/smaps_rollup 2>/dev/null
	done
done
`

// measureMemory measures every served variant while its server runs idle
// (measureLatency left them running after the warm samples), and
// systemd-machined, which dockah registers containers with.
func (s *suite) measureMemory() error {
	vs := s.served()
	units := []string{"systemd-machined.service"}
	for _, v := range vs {
		if _, err := measure.FirstByte(v.addr); err != nil { // make sure it runs
			return fmt.Errorf("%s: %w", v.name, err)
		}
		units = append(units, v.unit())
	}
	// Let podman's detached run and any other start-up helper finish.
	time.Sleep(2 * time.Second)
	out, err := s.sh(memScript, units...)
	if err != nil {
		return err
	}
	use, err := parseMem(out)
	if err != nil {
		return err
	}
	for _, v := range vs {
		v.mem = use[v.unit()]
		if v.mem == nil {
			v.mem = &memUse{}
		}
	}
	s.machined = use["systemd-machined.service"]
	return s.stopServed()
}

func parseMem(out string) (map[string]*memUse, error) {
	use := map[string]*memUse{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		m := use[f[1]]
		if m == nil {
			m = &memUse{}
			use[f[1]] = m
		}
		switch {
		case f[0] == "container":
			m.containers++
		case f[0] == "helper" && len(f) == 6:
			var p proc
			var err error
			p.comm = f[3]
			if p.pid, err = strconv.Atoi(f[2]); err == nil {
				if p.rss, err = strconv.Atoi(f[4]); err == nil {
					p.pss, err = strconv.Atoi(f[5])
				}
			}
			if err != nil {
				return nil, fmt.Errorf("parse %q: %w", line, err)
			}
			m.helpers = append(m.helpers, p)
		default:
			return nil, fmt.Errorf("parse %q", line)
		}
	}
	return use, nil
}
