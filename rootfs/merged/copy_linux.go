package merged

import (
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Stats says what a Copy found and did.
type Stats struct {
	// Found is whether the image has a directory at the path; without
	// one nothing is copied.
	Found bool
	// Entries counts what was copied below the directory; Bytes, the
	// contents of its regular files.
	Entries int
	Bytes   int64
	// Skipped counts the device nodes and sockets left out.
	Skipped int
}

// Copy copies the directory the image shows at p (an absolute path in
// the image, resolved inside it) into dst, an empty directory, and gives
// dst that directory's owner, mode, times and xattrs. When the image has
// no directory at p, Copy leaves dst alone and Stats.Found is false. On
// error dst holds part of the copy, for the caller to remove. Copying
// files of other owners needs root (CAP_CHOWN, CAP_FOWNER).
func (v *View) Copy(p, dst string) (Stats, error) {
	d, ok, err := v.resolve(p)
	if err != nil || !ok {
		return Stats{}, err
	}
	fd, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return Stats{}, &os.PathError{Op: "open", Path: dst, Err: err}
	}
	defer unix.Close(fd)
	c := &copier{v: v, dst: fd, image: path.Clean("/" + p), links: map[fileID]string{}, stats: Stats{Found: true}}
	if err := c.tree(d, ""); err != nil {
		return c.stats, err
	}
	if err := c.dirMeta(d, ""); err != nil {
		return c.stats, err
	}
	return c.stats, nil
}

// fileID names an inode of the layers, to copy hard links as links.
type fileID struct{ dev, ino uint64 }

type copier struct {
	v     *View
	dst   int    // the destination's fd
	image string // the copied path, for errors
	links map[fileID]string
	stats Stats
}

// fail names the entry of the image an error is about.
func (c *copier) fail(rel string, err error) error {
	return fmt.Errorf("copy %s from the image: %w", path.Join(c.image, rel), err)
}

// tree copies the entries of d into the destination's directory rel,
// then each subdirectory. Directories get their metadata after their
// contents, which would change their times, and hold no fd while their
// subdirectories are copied, so that deep trees need few fds.
func (c *copier) tree(d dir, rel string) error {
	entries, err := c.v.list(d, "")
	if err != nil {
		return c.fail(rel, err)
	}
	fd, err := openBeneath(c.dst, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return c.fail(rel, err)
	}
	var dirs []*entry
	for _, e := range entries {
		if err := c.entry(fd, d, rel, e); err != nil {
			unix.Close(fd)
			return c.fail(path.Join(rel, e.name), err)
		}
		if e.isDir() {
			dirs = append(dirs, e)
		}
	}
	unix.Close(fd)
	for _, e := range dirs {
		sub := path.Join(rel, e.name)
		if err := c.tree(d.child(e), sub); err != nil {
			return err
		}
		if err := c.dirMeta(d.child(e), sub); err != nil {
			return err
		}
	}
	return nil
}

// entry creates e in the destination directory fd.
func (c *copier) entry(fd int, d dir, rel string, e *entry) error {
	st := &e.st
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		// Private until its metadata is set after its contents.
		if err := unix.Mkdirat(fd, e.name, 0o700); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := c.file(fd, d, rel, e); err != nil {
			return err
		}
	case unix.S_IFLNK:
		// Copied as the link it is; its target is never looked at.
		if err := unix.Symlinkat(e.link, fd, e.name); err != nil {
			return err
		}
		if err := c.metaAt(fd, e.name, st, false); err != nil {
			return err
		}
	case unix.S_IFIFO:
		if err := unix.Mknodat(fd, e.name, unix.S_IFIFO|0o600, 0); err != nil {
			return err
		}
		if err := c.metaAt(fd, e.name, st, true); err != nil {
			return err
		}
	default:
		// Device nodes (an import with --allow-devices) and sockets: a
		// volume is mounted nodev, and a socket means nothing without
		// its server.
		c.stats.Skipped++
		return nil
	}
	c.stats.Entries++
	return nil
}

// file copies a regular file, or links it to the copy of a file it is
// hard linked to in the image.
func (c *copier) file(fd int, d dir, rel string, e *entry) error {
	id := fileID{dev: e.st.Dev, ino: e.st.Ino}
	if first, ok := c.links[id]; ok {
		return c.link(first, fd, e.name)
	}
	// O_NONBLOCK: should the file not be a regular one after all, a fifo
	// must not hang the start.
	src, err := openBeneath(c.v.layers[e.layer], path.Join(d.path, e.name), unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return err
	}
	in := os.NewFile(uintptr(src), e.name)
	defer in.Close()
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != e.st.Ino || st.Dev != e.st.Dev {
		return fmt.Errorf("changed while copied")
	}
	if err := unix.SetNonblock(src, false); err != nil {
		return err
	}
	dst, err := unix.Openat(fd, e.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(dst), e.name)
	defer out.Close()
	n, err := io.Copy(out, in)
	if err != nil {
		return err
	}
	c.stats.Bytes += n
	if err := c.meta(dst, &st, src); err != nil {
		return err
	}
	if st.Nlink > 1 {
		c.links[id] = path.Join(rel, e.name)
	}
	return out.Close()
}

// link makes name in fd a hard link to the copy at first (relative to
// the destination), whose directory is opened without following links.
func (c *copier) link(first string, fd int, name string) error {
	dir, base := path.Split(first)
	pfd, err := openBeneath(c.dst, path.Clean("./"+dir), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	// Flags 0: linkat does not follow a symlink at base.
	return unix.Linkat(pfd, base, fd, name, 0)
}

// dirMeta gives the destination's directory rel the metadata of d, as
// its topmost layer has it: the times as listed in its parent, before
// the copy read it and moved its access time.
func (c *copier) dirMeta(d dir, rel string) error {
	src, err := openBeneath(c.v.layers[d.stack[0]], d.path, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return c.fail(rel, err)
	}
	defer unix.Close(src)
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return c.fail(rel, err)
	}
	if d.st != nil && d.st.Ino == st.Ino && d.st.Dev == st.Dev {
		st.Atim = d.st.Atim
	}
	dst, err := openBeneath(c.dst, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return c.fail(rel, err)
	}
	defer unix.Close(dst)
	if err := c.meta(dst, &st, src); err != nil {
		return c.fail(rel, err)
	}
	return nil
}

// mode is the permission bits a copy gets: the image's, without the
// set-user-ID and set-group-ID bits of anything but a directory (where
// set-group-ID only makes new files inherit its group).
func mode(st *unix.Stat_t) uint32 {
	m := st.Mode & 0o7777
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		m &^= unix.S_ISUID | unix.S_ISGID
	}
	return m
}

// meta sets owner, mode (after the owner: chown clears set-id bits),
// kept xattrs and times on the open copy dst of src.
func (c *copier) meta(dst int, st *unix.Stat_t, src int) error {
	if err := unix.Fchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("set owner: %w", err)
	}
	if err := unix.Fchmod(dst, mode(st)); err != nil {
		return fmt.Errorf("set mode: %w", err)
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	return futimens(dst, st)
}

// metaAt sets owner, times and, for a fifo, mode on name in fd, without
// following it: symlinks have no mode of their own, and neither can be
// opened for the fd calls (a fifo's open would wait for a writer).
func (c *copier) metaAt(fd int, name string, st *unix.Stat_t, chmod bool) error {
	if err := unix.Fchownat(fd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set owner: %w", err)
	}
	if chmod {
		// fchmodat follows symlinks, and name is the fifo just made.
		if err := unix.Fchmodat(fd, name, mode(st), 0); err != nil {
			return fmt.Errorf("set mode: %w", err)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(fd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// futimens sets the access and modification times of the open file fd
// (utimensat with a NULL path, which x/sys/unix does not wrap).
func futimens(fd int, st *unix.Stat_t) error {
	ts := [2]unix.Timespec{st.Atim, st.Mtim}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("set times: %w", errno)
	}
	return nil
}

// keepXattr says which extended attributes a copy keeps: the user's own
// and ACLs. Not overlayfs's (an opaque marker means nothing in a volume),
// not security.* (file capabilities grant privileges; SELinux labels and
// the like are the host policy's to give) and not trusted.*.
func keepXattr(name string) bool {
	switch {
	case strings.HasPrefix(name, "user.overlay."):
		return false
	case strings.HasPrefix(name, "user."):
		return true
	}
	return name == "system.posix_acl_access" || name == "system.posix_acl_default"
}

// copyXattrs copies the kept xattrs of src to dst. A destination that
// cannot hold them (ENOTSUP) goes without, as a copy onto it would.
func copyXattrs(src, dst int) error {
	names, err := listXattrs(src)
	if err != nil {
		return fmt.Errorf("list xattrs: %w", err)
	}
	for _, name := range names {
		if !keepXattr(name) {
			continue
		}
		value, err := getXattr(src, name)
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return fmt.Errorf("read xattr %s: %w", name, err)
		}
		if err := unix.Fsetxattr(dst, name, value, 0); err != nil && err != unix.ENOTSUP {
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}

func listXattrs(fd int) ([]string, error) {
	for {
		size, err := unix.Flistxattr(fd, nil)
		if err == unix.ENOTSUP {
			return nil, nil
		}
		if err != nil || size == 0 {
			return nil, err
		}
		buf := make([]byte, size)
		n, err := unix.Flistxattr(fd, buf)
		if err == unix.ERANGE {
			continue // grew in between
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, name := range strings.Split(string(buf[:n]), "\x00") {
			if name != "" {
				names = append(names, name)
			}
		}
		return names, nil
	}
}

func getXattr(fd int, name string) ([]byte, error) {
	for {
		size, err := unix.Fgetxattr(fd, name, nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size)
		n, err := unix.Fgetxattr(fd, name, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
