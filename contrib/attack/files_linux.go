package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// writeFile opens path for writing and closes it without writing: the
// open alone proves the file is writable, and nothing changes if it is.
// O_TRUNC is never used.
func writeFile(path string) func(*env) outcome {
	return func(*env) outcome {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		switch {
		case err == nil:
			unix.Close(fd)
			return allowedBy("open(%s, O_WRONLY): succeeded (closed without writing)", path)
		case err == unix.ENOENT:
			return outcome{absent, path + ": not present on this kernel"}
		case err == unix.EROFS:
			return blockedBy("open(%s, O_WRONLY): EROFS", path)
		}
		return classify("open("+path+", O_WRONLY)", err)
	}
}

// writeFirst is writeFile of the first of paths that exists.
func writeFirst(paths ...string) func(*env) outcome {
	return func(e *env) outcome {
		for _, p := range paths {
			if _, err := os.Lstat(p); err == nil {
				return writeFile(p)(e)
			}
		}
		return outcome{absent, "none present: " + strings.Join(paths, ", ")}
	}
}

// readFile reads the start of path. A masked file is /dev/null bound over
// it (character device 1:3); any other file that opens is readable.
func readFile(path string) func(*env) outcome {
	return func(*env) outcome {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT {
			return outcome{absent, path + ": not present on this kernel"}
		}
		if err != nil {
			return classify("open("+path+")", err)
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return failure("fstat %s: %v", path, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3 {
			return blockedBy("%s is masked: /dev/null is mounted over it", path)
		}
		buf := make([]byte, 64)
		n, err := unix.Read(fd, buf)
		if err != nil {
			return classify("read("+path+")", err)
		}
		return allowedBy("%s is not masked: read %d bytes", path, n)
	}
}

// fdInfo is an open descriptor and what it refers to.
type fdInfo struct {
	fd     int
	target string
}

// listFDs lists the process's descriptors with raw syscalls, so that the
// only descriptor it adds is the one it reads, and leaves that out.
func listFDs() []fdInfo {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []fdInfo{{fd: -1, target: "cannot list /proc/self/fd: " + err.Error()}}
	}
	defer unix.Close(dir)
	var fds []fdInfo
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			fd, err := strconv.Atoi(name)
			if err != nil || fd == dir {
				continue
			}
			target, _ := os.Readlink("/proc/self/fd/" + name)
			fds = append(fds, fdInfo{fd, target})
		}
	}
	return fds
}

// fdLeak: the container may hold stdin, stdout, stderr and the sockets
// systemd passed (LISTEN_FDS), nothing else; a descriptor of the host's
// (a directory, the shim's binary, a cgroup file) is a way out
// (CVE-2024-21626).
func fdLeak(e *env) outcome {
	passed, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	var all, extra []string
	for _, f := range e.fds {
		s := fmt.Sprintf("%d->%s", f.fd, f.target)
		all = append(all, s)
		if f.fd < 0 || f.fd >= 3+passed {
			extra = append(extra, s)
		}
	}
	if len(extra) > 0 {
		return allowedBy("descriptors beyond 0-2 and %d passed socket(s): %s", passed, strings.Join(extra, " "))
	}
	return blockedBy("only %s (%d passed socket(s))", strings.Join(all, " "), passed)
}

// cwdOutsideRoot checks that the working directory is inside the root:
// getcwd names it (a directory outside the root reads "(unreachable)"),
// and walking up from it with ".." ends at this process's "/".
func cwdOutsideRoot(*env) outcome {
	cwd, err := unix.Getwd()
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return allowedBy("getcwd: ENOENT (the working directory is outside the root)")
		}
		return failure("getcwd: %v", err)
	}
	link, _ := os.Readlink("/proc/self/cwd")
	if !strings.HasPrefix(cwd, "/") || strings.HasPrefix(link, "(unreachable)") {
		return allowedBy("working directory %q, /proc/self/cwd -> %q", cwd, link)
	}
	top, err := topOf(".")
	if err != nil {
		return failure("walk up from the working directory: %v", err)
	}
	var root unix.Stat_t
	if err := unix.Stat("/", &root); err != nil {
		return failure("stat /: %v", err)
	}
	if top.Dev != root.Dev || top.Ino != root.Ino {
		return allowedBy("working directory %q: walking up with .. ends at %d:%d, not at / (%d:%d)", cwd, top.Dev, top.Ino, root.Dev, root.Ino)
	}
	return blockedBy("working directory %q (/proc/self/cwd -> %q) is inside the root", cwd, link)
}

// topOf follows ".." from dir until it stays put.
func topOf(dir string) (unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, err
	}
	defer func() { unix.Close(fd) }()
	if err := unix.Fstat(fd, &st); err != nil {
		return st, err
	}
	for range 4096 {
		parent, err := unix.Openat(fd, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return st, err
		}
		var pst unix.Stat_t
		if err := unix.Fstat(parent, &pst); err != nil {
			unix.Close(parent)
			return st, err
		}
		unix.Close(fd)
		fd = parent
		if pst.Dev == st.Dev && pst.Ino == st.Ino {
			return st, nil
		}
		st = pst
	}
	return st, errors.New("no top after 4096 levels")
}
