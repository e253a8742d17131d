package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation/mountinfo"
)

// mount is one line of /proc/self/mountinfo, as the container sees it.
type mount struct {
	Point  string `json:"point"`
	Type   string `json:"type"`
	Source string `json:"source"`
}

// mountInventory lists the container's mounts. Their points are paths in
// the container's root: after pivot_root nothing else is left.
func mountInventory() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []mount{{Point: "error", Source: err.Error()}}
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		before, after, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(before), strings.Fields(after)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			continue
		}
		out = append(out, mount{Point: mountinfo.Unescape(fields[4]), Type: tail[0], Source: mountinfo.Unescape(tail[1])})
	}
	return out
}

// lookResult is what -look reports about a path.
type lookResult struct {
	Look   string `json:"look"`
	Exists bool   `json:"exists"`
	// Kind is "file", "dir", "symlink -> TARGET", "char MAJ:MIN"...
	Kind string `json:"kind,omitempty"`
	// FS is the file system the path (followed) is on: "tmpfs", "proc"...
	FS string `json:"fs,omitempty"`
	// Content is the start of a regular file.
	Content string `json:"content,omitempty"`
	// Entries are the names in a directory (followed).
	Entries []string `json:"entries,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func look(path string) lookResult {
	r := lookResult{Look: path}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if err != unix.ENOENT {
			r.Error = errnoName(err)
		}
		return r
	}
	r.Exists = true
	r.Kind = kind(path, st)
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err == nil {
		r.FS = fsName(sfs.Type)
	}
	if data, err := os.ReadFile(path); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		if len(data) > 200 {
			data = data[:200]
		}
		r.Content = string(data)
	}
	if entries, err := os.ReadDir(path); err == nil {
		for _, e := range entries {
			r.Entries = append(r.Entries, e.Name())
		}
	}
	return r
}

func kind(path string, st unix.Stat_t) string {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		target, _ := os.Readlink(path)
		return "symlink -> " + target
	case unix.S_IFCHR:
		return fmt.Sprintf("char %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		return fmt.Sprintf("block %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return fmt.Sprintf("mode %o", st.Mode)
}

func fsName(magic int64) string {
	switch magic {
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.PROC_SUPER_MAGIC:
		return "proc"
	case unix.SYSFS_MAGIC:
		return "sysfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlay"
	case unix.DEVPTS_SUPER_MAGIC:
		return "devpts"
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	}
	return fmt.Sprintf("0x%x", magic)
}
