package activation

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation/mountinfo"
)

// cgroupMount is a mounted cgroup hierarchy: "" for cgroup v2, or the
// v1 controllers (and name=) it carries.
type cgroupMount struct {
	v2          bool
	controllers map[string]bool
	root        string // the cgroup at the mount point, relative to the namespace's root
	dir         string // where it is mounted
}

// cgroupMembership is one line of /proc/PID/cgroup.
type cgroupMembership struct {
	controllers []string // empty for cgroup v2 ("0::/path")
	path        string
}

// joinCgroups moves pid into every cgroup target is in, in each hierarchy
// mounted here, as runc does for an exec. The container's service cgroup
// is systemd's, and systemd moves processes only into units that have
// Delegate=yes: writing cgroup.procs is what is left. A hierarchy mounted
// read-only (a v1 controller inside systemd-nspawn) cannot be joined and
// is left as it is.
func joinCgroups(pid, target int) error {
	f, err := os.Open("/proc/" + strconv.Itoa(target) + "/cgroup")
	if err != nil {
		return fmt.Errorf("read the container's cgroups: %w", err)
	}
	member, err := parseProcCgroup(f)
	f.Close()
	if err != nil {
		return err
	}
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	mounts, err := parseCgroupMounts(mi)
	mi.Close()
	if err != nil {
		return err
	}
	joined := 0
	for _, m := range member {
		dir, ok := cgroupDir(mounts, m)
		if !ok {
			continue // not mounted here
		}
		err := os.WriteFile(path.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
		if errors.Is(err, unix.EROFS) {
			continue
		}
		if err != nil {
			return fmt.Errorf("join the container's cgroup: %w", err)
		}
		joined++
	}
	if joined == 0 {
		return fmt.Errorf("join the container's cgroup: none of the cgroups of pid %d is mounted writable here", target)
	}
	return nil
}

// parseProcCgroup reads /proc/PID/cgroup.
func parseProcCgroup(r io.Reader) ([]cgroupMembership, error) {
	var out []cgroupMembership
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		id, rest, ok1 := strings.Cut(sc.Text(), ":")
		ctrl, p, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || id == "" {
			return nil, fmt.Errorf("read the container's cgroups: bad line %q", sc.Text())
		}
		m := cgroupMembership{path: p}
		if ctrl != "" {
			m.controllers = strings.Split(ctrl, ",")
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// parseCgroupMounts reads the cgroup mounts of a mountinfo file.
func parseCgroupMounts(r io.Reader) ([]cgroupMount, error) {
	var out []cgroupMount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields, after, ok := strings.Cut(sc.Text(), " - ")
		f, a := strings.Fields(fields), strings.Fields(after)
		if !ok || len(f) < 5 || len(a) < 3 || (a[0] != "cgroup" && a[0] != "cgroup2") {
			continue
		}
		m := cgroupMount{v2: a[0] == "cgroup2", root: mountinfo.Unescape(f[3]), dir: mountinfo.Unescape(f[4]), controllers: map[string]bool{}}
		for _, opt := range strings.Split(a[2], ",") {
			m.controllers[opt] = true
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// cgroupDir is the directory of a membership's cgroup under the mount of
// its hierarchy.
func cgroupDir(mounts []cgroupMount, m cgroupMembership) (string, bool) {
	for _, mnt := range mounts {
		if mnt.v2 != (len(m.controllers) == 0) {
			continue
		}
		all := true
		for _, c := range m.controllers {
			all = all && mnt.controllers[c]
		}
		rel, ok := strings.CutPrefix(m.path, mnt.root)
		if !all || !ok || (mnt.root != "/" && rel != "" && rel[0] != '/') {
			continue
		}
		return path.Join(mnt.dir, rel), true
	}
	return "", false
}
