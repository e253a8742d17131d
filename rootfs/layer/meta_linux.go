package layer

import (
	"archive/tar"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// dirMeta is a directory's metadata, applied after all entries: adding
// entries changes a directory's mtime, and a read-only mode would stop
// an unprivileged unpack from adding them.
type dirMeta struct {
	path string
	hdr  *tar.Header
}

func (u *unpacker) deferDir(name string, hdr *tar.Header) {
	if i, ok := u.dirIdx[name]; ok {
		u.dirs[i].hdr = hdr // a later entry for the same directory wins
		return
	}
	u.dirIdx[name] = len(u.dirs)
	u.dirs = append(u.dirs, dirMeta{path: name, hdr: hdr})
}

func (u *unpacker) finishDirs() error {
	u.t.forget()
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		// Opened afresh and without following symlinks: a later entry may
		// have replaced the directory by a symlink, whose target must not
		// get this metadata.
		fd, err := u.t.openBeneath(d.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if d.path == "" {
			fd, err = unix.Dup(u.t.root)
		}
		if err != nil {
			continue // replaced by a non-directory: nothing to apply
		}
		err = u.fdMeta(fd, d.hdr)
		if err == nil {
			err = setTimes(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), d.hdr, 0)
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("entry %q: %w", d.hdr.Name, err)
		}
	}
	return nil
}

// fileMeta applies a regular file's metadata through its fd.
func (u *unpacker) fileMeta(fd, dirfd int, base string, hdr *tar.Header) error {
	if err := u.fdMeta(fd, hdr); err != nil {
		return err
	}
	return setTimes(dirfd, base, hdr, unix.AT_SYMLINK_NOFOLLOW)
}

// fdMeta sets owner, mode (after the owner, since chown clears set-id
// bits) and xattrs (after chown too: it drops security.capability).
func (u *unpacker) fdMeta(fd int, hdr *tar.Header) error {
	if u.root {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("set owner: %w", err)
		}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("set mode: %w", err)
	}
	return u.xattrs(hdr, func(name string, value []byte) error {
		return unix.Fsetxattr(fd, name, value, 0)
	})
}

// metaAt applies metadata by name in a trusted directory fd, for entries
// that cannot be opened safely (symlinks, fifos, devices). The name was
// just created by us, so the chmod, which follows symlinks, is skipped
// only for symlinks.
func (u *unpacker) metaAt(dirfd int, base string, hdr *tar.Header, symlink bool) error {
	if u.root {
		if err := unix.Fchownat(dirfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set owner: %w", err)
		}
	}
	if !symlink {
		if err := unix.Fchmodat(dirfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
			return fmt.Errorf("set mode: %w", err)
		}
	}
	err := u.xattrs(hdr, func(name string, value []byte) error {
		return unix.Lsetxattr(procPath(dirfd, base), name, value, 0)
	})
	if err != nil {
		return err
	}
	return setTimes(dirfd, base, hdr, unix.AT_SYMLINK_NOFOLLOW)
}

func setTimes(dirfd int, name string, hdr *tar.Header, flags int) error {
	mtime := unix.NsecToTimespec(hdr.ModTime.UnixNano())
	atime := mtime
	if !hdr.AccessTime.IsZero() {
		atime = unix.NsecToTimespec(hdr.AccessTime.UnixNano())
	}
	if err := unix.UtimesNanoAt(dirfd, name, []unix.Timespec{atime, mtime}, flags); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

const paxXattr = "SCHILY.xattr."

// xattrs applies the entry's extended attributes in a stable order.
func (u *unpacker) xattrs(hdr *tar.Header, set func(string, []byte) error) error {
	var names []string
	for k := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, paxXattr); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if err := checkXattr(name); err != nil {
			return err
		}
		err := set(name, []byte(hdr.PAXRecords[paxXattr+name]))
		if err == nil {
			continue
		}
		// Without root, trusted.* and security.* cannot be set; the
		// tar-split keeps them for save, the tree goes without.
		if !u.root && (err == unix.EPERM || err == unix.ENOTSUP) && !strings.HasPrefix(name, "user.") {
			continue
		}
		return fmt.Errorf("set xattr %s: %w", name, err)
	}
	return nil
}

// checkXattr refuses overlayfs's own attributes (an archive could fake
// whiteouts, redirects or metacopy with them) and namespaces a layer has
// no business setting.
func checkXattr(name string) error {
	switch {
	case strings.HasPrefix(name, "trusted.overlay."), strings.HasPrefix(name, "user.overlay."):
		return unsafe("xattr %s is overlayfs's own", name)
	case strings.HasPrefix(name, "user."), strings.HasPrefix(name, "trusted."),
		strings.HasPrefix(name, "security."), strings.HasPrefix(name, "system.posix_acl_"):
		return nil
	}
	return unsafe("xattr %s (accepted: user.*, trusted.*, security.*, system.posix_acl_*)", name)
}
