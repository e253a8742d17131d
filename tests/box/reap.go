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

// ownerAlive reports whether the process that booted the box in dir still
// runs.
func ownerAlive(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "owner"))
	if err != nil {
		return false
	}
	var pid int
	var start string
	if _, err := fmt.Sscanf(string(data), "%d %s", &pid, &start); err != nil {
		return false
	}
	now, err := startTime(pid)
	return err == nil && now == start
}

// rootIs reports whether process pid has root as its root directory, which
// is how a box's processes are told apart from a reused pid.
func rootIs(pid int, root string) bool {
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
	return err == nil && link == root
}

// cmdlineHas reports whether process pid's command line mentions s.
func cmdlineHas(pid int, s string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(data), s)
}

// ReapStale tears down every box whose owning test process is gone: a run
// that was killed (SIGKILL, a go test timeout) could not clean up itself.
func ReapStale() error {
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
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "box-") || ownerAlive(dir) {
			continue
		}
		root := filepath.Join(dir, "root")
		if pid := readPid(dir, "pid1"); pid != 0 && rootIs(pid, root) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		if pid := readPid(dir, "nspawn.pid"); pid != 0 && cmdlineHas(pid, root) {
			_ = unix.Kill(pid, unix.SIGKILL)
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
		mp := unescapeMountinfo(fields[4])
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

// unescapeMountinfo undoes the octal escapes (\040 for space and so on)
// of a mountinfo path.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
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
