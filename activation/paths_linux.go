package activation

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"

	"golang.org/x/sys/unix"
)

// Paths inside the container's root come from the image or the definition
// and are hostile: they are resolved with openat2 as if the root were "/"
// (RESOLVE_IN_ROOT), so neither ".." nor an absolute symlink leaves it, and
// magic links such as /proc/self/fd/N are refused (RESOLVE_NO_MAGICLINKS),
// which is how leaked host fds were used to escape (CVE-2024-21626).
const resolveInRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openInRoot opens name inside root. flags gets O_CLOEXEC added.
func openInRoot(root int, name string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveInRoot}
	for {
		fd, err := unix.Openat2(root, name, &how)
		// openat2 asks for a retry when a rename raced the lookup.
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open in root", Path: name, Err: err}
		}
		return fd, nil
	}
}

// fdPath names an open fd as a path, which is how mount(2) is pointed at a
// target resolved safely beforehand. The host's /proc is still mounted
// while the root is built.
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// mkdirAllInRoot makes sure the directory name exists inside root,
// creating what is missing, and returns an O_PATH fd of it.
func mkdirAllInRoot(root int, name string, mode uint32) (int, error) {
	fd, err := openInRoot(root, name, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parentName, base := path.Split(path.Clean("/" + name))
	if base == "" || base == "." || base == ".." {
		return -1, err
	}
	parent, err := mkdirAllInRoot(root, parentName, mode)
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	if err := unix.Mkdirat(parent, base, mode); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("create directory %s in the root: %w", name, err)
	}
	return openInRoot(root, name, unix.O_PATH|unix.O_DIRECTORY)
}

// touchInRoot makes sure the file name exists inside root (creating an
// empty regular file if nothing is there) and returns an O_PATH fd of it.
func touchInRoot(root int, name string, mode uint32) (int, error) {
	fd, err := openInRoot(root, name, unix.O_PATH)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parentName, base := path.Split(path.Clean("/" + name))
	parent, err := mkdirAllInRoot(root, parentName, 0o755)
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	// mknodat never follows a symlink at base: a dangling one makes it
	// fail with EEXIST and the open below then reports the name.
	if err := unix.Mknodat(parent, base, unix.S_IFREG|mode, 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("create file %s in the root: %w", name, err)
	}
	return openInRoot(root, name, unix.O_PATH)
}

// isDir reports whether the O_PATH fd refers to a directory.
func isDir(fd int) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}
