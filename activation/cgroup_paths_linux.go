package activation

import (
	"fmt"
	"io"
	"os"
)

// CgroupPaths are the directories of one cgroup in the hierarchies
// mounted in this mount namespace. A directory named here may not exist:
// systemd makes a unit's cgroup only in the hierarchies of the
// controllers it enables for the unit.
type CgroupPaths struct {
	// Unified is the cgroup in the v2 hierarchy ("/sys/fs/cgroup/..." on
	// pure v2, "/sys/fs/cgroup/unified/..." beside v1 controllers); ""
	// when no v2 hierarchy is mounted.
	Unified string
	// Controllers maps each v1 hierarchy mounted here, by one of its
	// controllers ("memory", "pids", "cpuacct", "blkio", "name=systemd"),
	// to the cgroup's directory in it.
	Controllers map[string]string
}

// v1Controllers are the v1 hierarchies CgroupPathsOf looks for: those
// that account for what a container uses, and systemd's own, which
// tracks the processes on a legacy (v1 only) host.
var v1Controllers = []string{"memory", "pids", "cpuacct", "blkio", "name=systemd"}

// CgroupPathsOf returns where the cgroup path, as systemd's ControlGroup
// property names it (relative to the root of this cgroup namespace), is
// in each hierarchy mounted here, read from /proc/self/mountinfo as
// joinCgroups finds the cgroups of an exec.
func CgroupPathsOf(path string) (CgroupPaths, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return CgroupPaths{}, fmt.Errorf("find the cgroup mounts: %w", err)
	}
	defer f.Close()
	return cgroupPathsIn(f, path)
}

// cgroupPathsIn is CgroupPathsOf on a mountinfo file.
func cgroupPathsIn(mountinfo io.Reader, path string) (CgroupPaths, error) {
	mounts, err := parseCgroupMounts(mountinfo)
	if err != nil {
		return CgroupPaths{}, fmt.Errorf("find the cgroup mounts: %w", err)
	}
	out := CgroupPaths{Controllers: map[string]string{}}
	if dir, ok := cgroupDir(mounts, cgroupMembership{path: path}); ok {
		out.Unified = dir
	}
	for _, c := range v1Controllers {
		if dir, ok := cgroupDir(mounts, cgroupMembership{controllers: []string{c}, path: path}); ok {
			out.Controllers[c] = dir
		}
	}
	return out, nil
}
