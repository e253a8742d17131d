package box

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Each box boots in a cgroup of its own, made before nspawn starts and
// removed, with everything the box's systemd made below it, when the box
// is torn down.
//
// Why: nspawn (--keep-unit, here where PID 1 is not systemd) puts the
// box's systemd in "payload" below its own cgroup, and a box killed with
// its systemd leaves that tree behind: systemd never gets to remove its
// units' cgroups. With every box started from the root cgroup, every box
// had the same "payload/system.slice/NAME.service", so a new box's unit
// could start in a cgroup left by an earlier box's unit of the same name,
// with that unit's BPF programs still attached. A postgres.service whose
// earlier namesake had IPAddressDeny=any silently dropped every packet
// its container sent off loopback on its first start (issue 17's
// "first-start" failure); its stop removed the stale cgroup, so the
// second start worked.

// cgroupPrefix names a box's cgroup: cgroupPrefix and the suffix of its
// directory under BaseDir.
const cgroupPrefix = "dockah-box-"

// cgroupName is the cgroup of the box whose directory is dir.
func cgroupName(dir string) string {
	return cgroupPrefix + strings.TrimPrefix(filepath.Base(dir), "box-")
}

// cgroupHierarchies returns the host's hierarchies that systemd and nspawn
// place processes in: the cgroup2 one (at /sys/fs/cgroup, or at
// /sys/fs/cgroup/unified in the hybrid layout) and, in the hybrid layout,
// the named v1 hierarchy "systemd". The v1 controllers are left alone:
// nspawn gives the box its caller's cgroups there, read-only.
func cgroupHierarchies() []string {
	var out []string
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) != nil {
			continue
		}
		switch st.Type {
		case unix.CGROUP2_SUPER_MAGIC:
			out = append(out, dir)
		case unix.CGROUP_SUPER_MAGIC:
			if dir == "/sys/fs/cgroup/systemd" {
				out = append(out, dir)
			}
		}
	}
	return out
}

// makeCgroups creates the box's cgroup in every hierarchy and returns
// their paths.
func makeCgroups(dir string) ([]string, error) {
	var paths []string
	for _, h := range cgroupHierarchies() {
		p := filepath.Join(h, cgroupName(dir))
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return paths, fmt.Errorf("make the box's cgroup: %w", err)
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return nil, errors.New("make the box's cgroup: no cgroup hierarchy mounted under /sys/fs/cgroup")
	}
	return paths, nil
}

// intoCgroups wraps argv so that it runs in the cgroups that
// $DOCKAH_BOX_CGROUPS lists: a shell moves itself into each, then execs
// argv, so nspawn finds itself there from its first instruction.
func intoCgroups(argv []string) []string {
	script := `for c in $DOCKAH_BOX_CGROUPS; do echo $$ > "$c/cgroup.procs" || exit 125; done; exec "$@"`
	return append([]string{"/bin/sh", "-c", script, "sh"}, argv...)
}

// removeCgroups kills whatever still runs in the box's cgroups and
// removes them, deepest first. Removing a cgroup2 directory detaches the
// BPF programs systemd attached to it.
func removeCgroups(dir string) error {
	var errs []error
	for _, h := range cgroupHierarchies() {
		if err := removeCgroupTree(filepath.Join(h, cgroupName(dir))); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree removes the cgroup at top and every cgroup below it.
func removeCgroupTree(top string) error {
	if _, err := os.Stat(top); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// cgroup.kill (cgroup2, Linux 5.14) kills the whole subtree at once.
	_ = os.WriteFile(filepath.Join(top, "cgroup.kill"), []byte("1"), 0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var dirs []string
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("remove the box's cgroup %s: %w", top, err)
		}
		if len(dirs) == 0 {
			return nil
		}
		// Deepest first: a cgroup can only go once it has no children.
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		var last error
		for _, d := range dirs {
			killProcsOf(d)
			if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
				last = err
			}
		}
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove the box's cgroup %s: %w", top, last)
		}
		// Killed processes leave their cgroup only once reaped.
		time.Sleep(50 * time.Millisecond)
	}
}

// killProcsOf sends SIGKILL to the processes listed in the cgroup at dir
// (a v1 hierarchy has no cgroup.kill).
func killProcsOf(dir string) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(data)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 && pid != os.Getpid() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// reapStaleCgroups removes the cgroups of boxes whose directory is gone
// (a teardown that could not finish, or a machine that kept cgroups from
// runs of an earlier harness).
func reapStaleCgroups() error {
	var errs []error
	for _, h := range cgroupHierarchies() {
		entries, err := os.ReadDir(h)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), cgroupPrefix) {
				continue
			}
			boxDir := filepath.Join(BaseDir, "box-"+strings.TrimPrefix(e.Name(), cgroupPrefix))
			if _, err := os.Stat(boxDir); err == nil {
				continue
			}
			if err := removeCgroupTree(filepath.Join(h, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
