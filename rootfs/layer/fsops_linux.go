package layer

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"

	"golang.org/x/sys/unix"
)

// tree is a directory being unpacked into. Every path is resolved from
// its root fd by openat2 with RESOLVE_BENEATH (no "..", no absolute path
// can leave it) and RESOLVE_NO_SYMLINKS (no symlink in the layer, however
// placed by earlier entries, is ever followed), so no entry can reach
// outside whatever the layer's own contents are.
type tree struct {
	root int
	dirs map[string]int // open directory fds by clean relative path
}

const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// maxCachedDirs bounds the directory fds kept open.
const maxCachedDirs = 128

func openTree(dir string) (*tree, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return &tree{root: fd, dirs: map[string]int{"": fd}}, nil
}

func (t *tree) close() {
	t.forget()
	unix.Close(t.root)
}

// forget closes the cached directory fds. Called whenever something is
// removed, since a cached fd may belong to a directory no longer linked.
func (t *tree) forget() {
	for p, fd := range t.dirs {
		if fd != t.root {
			unix.Close(fd)
		}
		delete(t.dirs, p)
	}
	t.dirs[""] = t.root
}

// openBeneath opens p (relative, clean) below the root without following
// any symlink.
func (t *tree) openBeneath(p string, flags uint64) (int, error) {
	for {
		fd, err := unix.Openat2(t.root, p, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: resolveFlags})
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err == unix.ELOOP || err == unix.EXDEV {
			return -1, unsafe("%s: a symlink or mount point in the path", p)
		}
		return fd, err
	}
}

// dir returns an fd of directory p, creating it and its parents (mode
// 0755) when create is set. Archives may omit parent directories.
func (t *tree) dir(p string, create bool) (int, error) {
	if fd, ok := t.dirs[p]; ok {
		return fd, nil
	}
	fd, err := t.openBeneath(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err == unix.ENOENT && create {
		parent, perr := t.dir(clean(path.Dir(p)), true)
		if perr != nil {
			return -1, perr
		}
		if merr := unix.Mkdirat(parent, path.Base(p), 0o755); merr != nil && merr != unix.EEXIST {
			return -1, fmt.Errorf("create directory %s: %w", p, merr)
		}
		fd, err = t.openBeneath(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	}
	if err != nil {
		if errors.Is(err, unix.ENOTDIR) {
			// O_NOFOLLOW|O_DIRECTORY on a symlink: the same hazard as
			// ELOOP above, reported differently.
			return -1, unsafe("%s: not a directory (a symlink or a file in the path)", p)
		}
		if err == unix.ENOENT {
			return -1, fmt.Errorf("%s: no such directory in the layer", p)
		}
		return -1, err
	}
	if len(t.dirs) >= maxCachedDirs {
		t.forget()
	}
	t.dirs[p] = fd
	return fd, nil
}

// clean maps path.Dir's "." to the root's "".
func clean(p string) string {
	if p == "." {
		return ""
	}
	return p
}

// clear removes name from dir so that something else can take its place.
// A directory stays when keepDir is set. Removing never follows a symlink:
// unlinkat removes the link itself.
func (t *tree) clear(dirfd int, name string, keepDir bool) (isDir bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return false, nil
		}
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false, unix.Unlinkat(dirfd, name, 0)
	}
	if keepDir {
		return true, nil
	}
	t.forget()
	return false, removeTree(dirfd, name)
}

// removeTree removes directory name below dirfd and all it holds, by fds.
func removeTree(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	entries, err := f.ReadDir(-1)
	if err == nil {
		for _, e := range entries {
			if e.IsDir() {
				err = removeTree(fd, e.Name())
			} else {
				err = unix.Unlinkat(fd, e.Name(), 0)
			}
			if err != nil {
				break
			}
		}
	}
	f.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

// procPath names name in the directory dirfd for the *xattr calls that
// take no fd. The magic link resolves to the directory we hold; the final
// name is not followed by the l* variants.
func procPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}
