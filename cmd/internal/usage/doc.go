// Package usage reads what a container's processes use, for dockah top
// and dockah stats: the counters of its cgroup (cgroup v2 files, or the v1
// controllers of a hybrid host) and each process's entry in /proc.
//
// Parsing is pure and tested on text; the readers are thin wrappers that
// open the files. A counter the kernel does not keep here (a controller
// not enabled, a file missing) is nil, never zero: callers print "-".
//
// Boundary: it reads, it never writes a cgroup or signals a process. It
// does not talk to systemd: the caller passes the cgroup's directories
// (found from the unit's ControlGroup property, activation.CgroupPathsOf)
// and prefers systemd's own accounting where systemd has it.
package usage
