package policy

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// defaultMasked are hidden in every container (an empty read-only file or
// directory is mounted over them): the lists of Docker and containerd
// (2025) plus podman's /sys/fs/selinux and /sys/dev/block.
var defaultMasked = []string{
	"/proc/acpi",                    // ACPI tables and power-button events of the host
	"/proc/asound",                  // the host's sound cards
	"/proc/interrupts",              // per-CPU interrupt counts: thermal side channel (GHSA-6fw5-f8r9-fgfm)
	"/proc/kcore",                   // the host's physical memory as an ELF core
	"/proc/keys",                    // every key of the kernel keyrings visible to the caller
	"/proc/latency_stats",           // scheduler latency of all host processes
	"/proc/sched_debug",             // every task on the host, with names and pids
	"/proc/scsi",                    // SCSI devices, with a write interface on old kernels
	"/proc/timer_list",              // host timers, with task names and pids
	"/proc/timer_stats",             // the same, on old kernels
	"/sys/dev/block",                // the host's block devices by major:minor
	"/sys/devices/virtual/powercap", // RAPL energy counters: power side channel (GHSA-jq35-85cj-fj4p)
	"/sys/firmware",                 // ACPI, DMI, EFI variables of the host
	"/sys/fs/selinux",               // the host's SELinux policy interface
}

// defaultReadOnly are remounted read-only: they can reconfigure the kernel
// for the whole host.
var defaultReadOnly = []string{
	"/proc/bus",           // PCI and USB device control
	"/proc/fs",            // filesystem tunables (nfsd, ...)
	"/proc/irq",           // interrupt affinity
	"/proc/sys",           // sysctls; the namespaced ones are not worth the host ones
	"/proc/sysrq-trigger", // one write reboots or crashes the host
}

// PathConfig is what a definition says about masked and read-only paths.
type PathConfig struct {
	// Masked are extra absolute paths to hide.
	Masked []string
	// Unmask removes paths from the default lists, masked or read-only;
	// "ALL" removes them all (Docker's systempaths=unconfined). Only an
	// explicit definition does this.
	Unmask []string
	// CPUs are the host's possible CPUs (ParseCPUList of
	// /sys/devices/system/cpu/possible): each one's thermal_throttle
	// directory is masked too.
	CPUs []int
}

// Paths are the lists the runtime spec carries (linux.maskedPaths and
// linux.readonlyPaths). The shim resolves each inside the container's
// root and skips those that do not exist on the running kernel.
type Paths struct {
	Masked, ReadOnly []string
}

// MaskedPaths computes the masked and read-only paths of a container.
func MaskedPaths(cfg PathConfig) (Paths, error) {
	var errs []error
	unmaskAll := false
	unmask := map[string]bool{}
	for _, p := range cfg.Unmask {
		if strings.EqualFold(p, "ALL") {
			unmaskAll = true
			continue
		}
		clean, err := checkPath(p)
		if err == nil && !isDefaultPath(clean) {
			err = fmt.Errorf("%s is not masked or read-only by default", clean)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("unmask: %w", err))
			continue
		}
		unmask[clean] = true
	}
	var out Paths
	add := func(list *[]string, p string) {
		if !unmaskAll && !unmask[p] && !slices.Contains(*list, p) {
			*list = append(*list, p)
		}
	}
	for _, p := range defaultMasked {
		add(&out.Masked, p)
	}
	for _, cpu := range cfg.CPUs {
		add(&out.Masked, "/sys/devices/system/cpu/cpu"+strconv.Itoa(cpu)+"/thermal_throttle")
	}
	for _, p := range defaultReadOnly {
		add(&out.ReadOnly, p)
	}
	for _, p := range cfg.Masked {
		clean, err := checkPath(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("masked paths: %w", err))
			continue
		}
		if !slices.Contains(out.Masked, clean) {
			out.Masked = append(out.Masked, clean)
		}
	}
	if out.Masked == nil {
		out.Masked = []string{}
	}
	if out.ReadOnly == nil {
		out.ReadOnly = []string{}
	}
	return out, errors.Join(errs...)
}

// isDefaultPath reports whether p is on a default list.
func isDefaultPath(p string) bool {
	if slices.Contains(defaultMasked, p) || slices.Contains(defaultReadOnly, p) {
		return true
	}
	cpu, ok := strings.CutPrefix(p, "/sys/devices/system/cpu/cpu")
	n, ok2 := strings.CutSuffix(cpu, "/thermal_throttle")
	_, err := strconv.Atoi(n)
	return ok && ok2 && err == nil
}

// checkPath accepts an absolute path without "." or ".." elements and
// returns it cleaned of duplicate and trailing slashes. The path is a
// name inside the container; the shim resolves it within the root.
func checkPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%q: not an absolute path", p)
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%q: contains a NUL byte", p)
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == "." || elem == ".." {
			return "", fmt.Errorf("%q: contains %q", p, elem)
		}
	}
	clean := path.Clean(p)
	if clean == "/" {
		return "", fmt.Errorf("%q: the whole root cannot be masked", p)
	}
	return clean, nil
}

// ParseCPUList parses the kernel's CPU list format ("0-3,8,10-11"), as in
// /sys/devices/system/cpu/possible.
func ParseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		last := first
		if err == nil && isRange {
			last, err = strconv.Atoi(hi)
		}
		if err != nil || first < 0 || last < first || last >= 1<<16 {
			return nil, fmt.Errorf("cpu list %q: bad element %q", s, part)
		}
		for c := first; c <= last; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
