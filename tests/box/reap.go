package box

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation/mountinfo"
)

// writeOwner records which process owns a box, with its start time so a
// reused pid is not mistaken for the owner.
func writeOwner(dir string) error {
	self := os.Getpid()
	start, err := startTime(self)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "owner"), []byte(fmt.Sprintf("%d %s\n", self, start)), 0o600)
}

func writePid(dir, name string, pid int) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(strconv.Itoa(pid)+"\n"), 0o600)
}

func readPid(dir, name string) int {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// startTime returns field 22 of /proc/PID/stat: the process's start time
// in clock ticks since boot, which with the pid identifies a process.
func startTime(pid int) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// The command name (field 2) may hold spaces; fields after it start
	// after the last ')'.
	rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
	fields := strings.Fields(rest)
	if len(fields) < 20 {
		return "", fmt.Errorf("parse /proc/%d/stat: too few fields", pid)
	}
	return fields[19], nil
}

// readOwner returns the pid and start time recorded by writeOwner.
func readOwner(dir string) (pid int, start string, ok bool) {
	data, err := os.ReadFile(filepath.Join(dir, "owner"))
	if err != nil {
		return 0, "", false
	}
	if _, err := fmt.Sscanf(string(data), "%d %s", &pid, &start); err != nil {
		return 0, "", false
	}
	return pid, start, true
}

// ownerIs reports whether the box in dir was booted by process pid.
func ownerIs(dir string, pid int) bool {
	owner, _, ok := readOwner(dir)
	return ok && owner == pid
}

// ownerAlive reports whether the process that booted the box in dir still
// runs.
func ownerAlive(dir string) bool {
	pid, start, ok := readOwner(dir)
	if !ok {
		// Another run may have just made the directory and not yet
		// written its owner file: leave young directories alone.
		fi, err := os.Stat(dir)
		return err == nil && time.Since(fi.ModTime()) < time.Minute
	}
	now, err := startTime(pid)
	return err == nil && now == start
}

// rootDevice returns the device number of the filesystem at path.
func rootDevice(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.Dev, nil
}

// inBox reports whether process pid runs in the box whose overlay root has
// device number dev. A box's processes live in nspawn's mount namespace,
// where /proc/PID/root reads as "/", but it is the same overlay superblock
// as the host's view of the box root, so its device number identifies
// them, and a reused pid never matches.
func inBox(pid int, dev uint64) bool {
	if dev == 0 {
		return false
	}
	var st unix.Stat_t
	return unix.Stat(fmt.Sprintf("/proc/%d/root/", pid), &st) == nil && st.Dev == dev
}

// killBox sends SIGKILL to every process whose root is the box's overlay.
func killBox(dev uint64) {
	if dev == 0 {
		return
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if inBox(pid, dev) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// cmdlineHas reports whether process pid's command line mentions s.
func cmdlineHas(pid int, s string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(data), s)
}

// ReapStale tears down every box whose owning test process is gone: a run
// that was killed (SIGKILL, a go test timeout) could not clean up itself.
func ReapStale() error {
	return errors.Join(reapWhere(func(dir string) bool { return !ownerAlive(dir) }), reapStaleCgroups())
}

// ReapOwn tears down every box this process booted, including one still
// booting; the interrupt handler uses it.
func ReapOwn() error {
	return reapWhere(func(dir string) bool { return ownerIs(dir, os.Getpid()) })
}

func reapWhere(match func(dir string) bool) error {
	entries, err := os.ReadDir(BaseDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		dir := filepath.Join(BaseDir, e.Name())
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "box-") || !match(dir) {
			continue
		}
		killBox(uint64(readPid(dir, "rootdev")))
		if pid := readPid(dir, "nspawn.pid"); pid != 0 && cmdlineHas(pid, filepath.Join(dir, "root")) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		if err := removeCgroups(dir); err != nil {
			errs = append(errs, err)
		}
		if err := teardownDir(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// teardownDir unmounts everything at or below dir, deepest first, then
// removes dir. It never removes a directory that still has a mount below
// it: removing files through the overlay would be harmless, but through a
// bind mount it would not.
func teardownDir(dir string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		mounts, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(mounts) == 0 {
			break
		}
		for _, m := range mounts {
			if err := unix.Unmount(m, 0); err != nil && !errors.Is(err, unix.EINVAL) {
				if errors.Is(err, unix.EBUSY) && time.Now().After(deadline) {
					// Last resort: detach, so the next run is not
					// blocked by a mount a dying process still holds.
					_ = unix.Unmount(m, unix.MNT_DETACH)
				}
			}
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			return fmt.Errorf("mounts left under %s: %s", dir, strings.Join(mounts, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return os.RemoveAll(dir)
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var found []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := mountinfo.Unescape(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			found = append(found, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Slice(found, func(i, j int) bool { return len(found[i]) > len(found[j]) })
	return found, nil
}

// FindProjectDir returns the directory holding dockah's go.mod, searching
// up from the working directory.
func FindProjectDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/dockah/dockah\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no dockah checkout (go.mod) above the working directory")
		}
		dir = parent
	}
}
