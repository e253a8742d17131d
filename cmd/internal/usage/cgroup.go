package usage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dockah/dockah/activation"
)

// Counters are what a cgroup's files say it has used so far; each is nil
// where no file here keeps it.
type Counters struct {
	CPUNSec     *uint64 // cpu.stat usage_usec (v2), cpuacct.usage (v1)
	MemoryBytes *uint64 // memory.current (v2), memory.usage_in_bytes (v1)
	// MemoryMax is the cgroup's own memory limit; nil when it has none.
	MemoryMax *uint64 // memory.max (v2), memory.limit_in_bytes (v1)
	// Tasks counts the threads, as pids.current does.
	Tasks   *uint64 // pids.current, else the threads listed in the cgroup
	IORead  *uint64 // io.stat rbytes (v2), blkio io_service_bytes Read (v1)
	IOWrite *uint64 // io.stat wbytes (v2), blkio io_service_bytes Write (v1)
}

// unlimitedV1 is the least value a v1 limit file holds for "no limit"
// (the page counter's maximum, rounded to pages, is just below 2^63).
const unlimitedV1 = 1 << 62

// ReadCgroup reads the counters of the cgroup at p: the v2 files where
// they exist, else those of the v1 controllers.
func ReadCgroup(p activation.CgroupPaths) Counters {
	var c Counters
	f := cgroupFiles(p)
	if text, ok := f.v2("cpu.stat"); ok {
		c.CPUNSec = CPUStatUsage(text)
	} else if text, ok := f.v1("cpuacct", "cpuacct.usage"); ok {
		c.CPUNSec = number(text)
	}
	if text, ok := f.v2("memory.current"); ok {
		c.MemoryBytes = number(text)
	} else if text, ok := f.v1("memory", "memory.usage_in_bytes"); ok {
		c.MemoryBytes = number(text)
	}
	if text, ok := f.v2("memory.max"); ok {
		c.MemoryMax = number(text) // "max": nil
	} else if text, ok := f.v1("memory", "memory.limit_in_bytes"); ok {
		if n := number(text); n != nil && *n < unlimitedV1 {
			c.MemoryMax = n
		}
	}
	if text, ok := f.v2("pids.current"); ok {
		c.Tasks = number(text)
	} else if text, ok := f.v1("pids", "pids.current"); ok {
		c.Tasks = number(text)
	} else {
		c.Tasks = countThreads(p)
	}
	if text, ok := f.v2("io.stat"); ok {
		r, w := IOStatBytes(text)
		c.IORead, c.IOWrite = &r, &w
	} else if text, ok := f.v1("blkio", "blkio.throttle.io_service_bytes_recursive"); ok {
		r, w := BlkioBytes(text)
		c.IORead, c.IOWrite = &r, &w
	}
	return c
}

// cgroupFiles reads the files of one cgroup.
type cgroupFiles activation.CgroupPaths

// v2 reads a file of the cgroup in the v2 hierarchy; ok is false when
// there is no such file (the controller is not enabled for the cgroup).
func (f cgroupFiles) v2(file string) (string, bool) {
	if f.Unified == "" {
		return "", false
	}
	return readText(filepath.Join(f.Unified, file))
}

// v1 reads a file of the cgroup in the hierarchy of a v1 controller.
func (f cgroupFiles) v1(controller, file string) (string, bool) {
	dir, ok := f.Controllers[controller]
	if !ok {
		return "", false
	}
	return readText(filepath.Join(dir, file))
}

// Procs returns the processes of the cgroup at p and of the cgroups below
// it, sorted: from the v2 hierarchy where the cgroup is there, else from
// systemd's own v1 hierarchy (a legacy host).
func Procs(p activation.CgroupPaths) ([]int, error) {
	dir, file := procsFile(p)
	if dir == "" {
		return nil, errors.New("the unit's cgroup is in no hierarchy mounted here")
	}
	var pids []int
	err := walkCgroup(dir, file, func(text string) {
		for _, f := range strings.Fields(text) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	})
	slices.Sort(pids)
	return slices.Compact(pids), err
}

// procsFile is the directory whose cgroup.procs lists the processes.
func procsFile(p activation.CgroupPaths) (dir, file string) {
	for _, d := range []string{p.Unified, p.Controllers["name=systemd"]} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err == nil {
			return d, "cgroup.procs"
		}
	}
	return "", ""
}

// countThreads counts the threads of the cgroup and those below it
// (cgroup.threads on v2, tasks on v1), for a host without the pids
// controller; nil when the cgroup is not found.
func countThreads(p activation.CgroupPaths) *uint64 {
	dir, _ := procsFile(p)
	file := "cgroup.threads"
	if dir != p.Unified {
		file = "tasks"
	}
	if dir == "" {
		return nil
	}
	var n uint64
	if err := walkCgroup(dir, file, func(text string) { n += uint64(len(strings.Fields(text))) }); err != nil {
		return nil
	}
	return &n
}

// walkCgroup calls add with the content of file in dir and in every
// cgroup below it. A cgroup removed meanwhile is skipped.
func walkCgroup(dir, file string, add func(string)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(p, file))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		add(string(data))
		return nil
	})
}

// readText returns a file's content; ok is false when it cannot be read.
func readText(p string) (string, bool) {
	data, err := os.ReadFile(p)
	return string(data), err == nil
}

// number parses a file holding one unsigned number; nil for anything
// else ("max", nothing).
func number(text string) *uint64 {
	n, err := strconv.ParseUint(strings.TrimSpace(text), 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// CPUStatUsage reads usage_usec from a v2 cpu.stat, in nanoseconds; nil
// when it has none.
func CPUStatUsage(text string) *uint64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			if n := number(v); n != nil {
				*n *= 1000
				return n
			}
		}
	}
	return nil
}

// IOStatBytes sums rbytes and wbytes over the devices of a v2 io.stat:
// "8:0 rbytes=1 wbytes=2 rios=3 ...", a line per device.
func IOStatBytes(text string) (read, write uint64) {
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		for _, kv := range fields[min(1, len(fields)):] {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "rbytes":
				read += n
			case "wbytes":
				write += n
			}
		}
	}
	return read, write
}

// BlkioBytes sums the Read and Write rows over the devices of a v1 blkio
// io_service_bytes file: "8:0 Read 4096", ..., "Total 8192".
func BlkioBytes(text string) (read, write uint64) {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			continue
		}
		switch f[1] {
		case "Read":
			read += n
		case "Write":
			write += n
		}
	}
	return read, write
}
