package usage

import (
	"os"
	"strconv"
	"strings"
)

// PSS sums the proportional set size of processes (/proc/PID/smaps_rollup,
// a page shared by n processes counting 1/n to each): their memory when
// the cgroup's is not accounted. It leaves out the page cache and kernel
// memory a memory controller would count. ok is false when no process
// could be read.
func PSS(pids []int) (total uint64, ok bool) {
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
		if err != nil {
			continue // gone, or a kernel thread
		}
		if n, found := RollupPss(string(data)); found {
			total += n
			ok = true
		}
	}
	return total, ok
}

// RollupPss reads the "Pss:" line of smaps_rollup, in bytes.
func RollupPss(text string) (uint64, bool) {
	return kBLine(text, "Pss:")
}

// HostMemory is the memory of the host (MemTotal in /proc/meminfo): the
// limit of a container that has none, as podman shows it.
func HostMemory() (uint64, bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return kBLine(string(data), "MemTotal:")
}

// kBLine reads a "Key:   123 kB" line, in bytes.
func kBLine(text, key string) (uint64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n * 1024, err == nil
		}
	}
	return 0, false
}
