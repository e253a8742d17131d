package confine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotSupported means the kernel lacks the new mount API the shim
// confines itself with: open_tree(2) and move_mount(2) (Linux 5.2) and
// mount_setattr(2) (Linux 5.12).
var ErrNotSupported = errors.New("the kernel lacks mount_setattr(2) (Linux 5.12 or later)")

// errNotEarly means the executable's constructor did not prepare the
// process: it was not started as the shim or the forwarder, or built
// without cgo.
var errNotEarly = errors.New("not prepared by dockah-activate's constructor (built with cgo, started to run a container)")

// ShimOptions are what the shim writes and what it hides of the host.
type ShimOptions struct {
	// Store is the image store, which stays writable.
	Store string
	// Writable are other paths that stay as the host has them, writable
	// where the host's are: the writable bind volumes' sources.
	Writable []string
	// Hidden are directories covered with an empty read-only tmpfs.
	Hidden []string
	// Private are directories covered with a fresh writable tmpfs.
	Private []string
	// Masked are files covered with /dev/null.
	Masked []string
}

// Shim confines the shim in the mount namespace its constructor gave it:
// the host's tree read-only, nosuid and nodev, but for the store and
// o.Writable; /dev keeps its device nodes; o.Hidden, o.Private and o.Masked
// covered. It must run before the shim reads anything a container controls
// (the image's configuration, its /etc/passwd). Every thread of the
// process shares the namespace, so it may be called from any goroutine.
func Shim(o ShimOptions) error {
	if err := earlyShim(); err != nil {
		return fmt.Errorf("a mount namespace of its own: %w", err)
	}
	return confineMounts(o)
}

// kept is a copy of a mount tree taken before the host's tree is made
// read-only, and where it goes back.
type kept struct {
	fd   int
	path string
}

// confineMounts does Shim's work in the caller's mount namespace, which
// must be its own and a slave of the host's.
func confineMounts(o ShimOptions) (err error) {
	// The store may not exist yet on a new host; once the tree is
	// read-only, it could not be made.
	if o.Store != "" {
		if err := os.MkdirAll(o.Store, 0o700); err != nil {
			return fmt.Errorf("create the store: %w", err)
		}
	}
	var trees []kept
	defer func() {
		for _, t := range trees {
			unix.Close(t.fd)
		}
	}()
	// What stays as it is: copies (clones of the mount trees, attributes
	// and all) taken now and put back over the read-only tree below. A
	// read-only mount of the host below a writable path stays read-only,
	// as it does under systemd's ReadWritePaths=.
	for _, p := range writableRoots(append([]string{o.Store}, o.Writable...)) {
		t, err := keep(p)
		if errors.Is(err, unix.ENOENT) {
			continue // a volume's missing source: the start says so
		}
		if err != nil {
			return err
		}
		trees = append(trees, t)
	}
	dev, err := keep("/dev")
	if err != nil {
		return err
	}
	defer unix.Close(dev.fd)
	var selinuxfs *kept
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/selinux", &st) == nil && st.Type == unix.SELINUX_MAGIC {
		// libselinux writes to selinuxfs to check contexts, which
		// systemd's ProtectKernelTunables= leaves writable too.
		t, err := keep("/sys/fs/selinux")
		if err != nil {
			return err
		}
		defer unix.Close(t.fd)
		selinuxfs = &t
	}

	// One call for the whole tree, however many mounts it has.
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, &attr); err != nil {
		return mountAPIError("make the host's tree read-only, nosuid and nodev", err)
	}
	// /dev: read-only and nosuid, but its device nodes work (what nodev
	// each of its mounts had, it keeps).
	attr = unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID}
	if err := unix.MountSetattr(dev.fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return mountAPIError("make /dev read-only", err)
	}
	if err := putBack(dev); err != nil {
		return err
	}
	for _, t := range trees {
		if err := putBack(t); err != nil {
			return err
		}
	}
	if selinuxfs != nil {
		if err := putBack(*selinuxfs); err != nil {
			return err
		}
	}
	if err := cover(o.Hidden, trees, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=4k"); err != nil {
		return err
	}
	if err := cover(o.Private, trees, unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return err
	}
	return mask(o.Masked)
}

// writableRoots returns the clean paths that are not below another one
// (a copy of /srv holds /srv/a as it is), in order.
func writableRoots(paths []string) []string {
	var clean []string
	for _, p := range paths {
		if p != "" && filepath.IsAbs(p) {
			clean = append(clean, filepath.Clean(p))
		}
	}
	var roots []string
	for _, p := range clean {
		covered := slices.ContainsFunc(clean, func(q string) bool {
			return q != p && (q == "/" || strings.HasPrefix(p, q+"/"))
		})
		if !covered && !slices.Contains(roots, p) {
			roots = append(roots, p)
		}
	}
	return roots
}

// keep clones the mount tree at path, with its submounts and their
// attributes, as a mount attached nowhere.
func keep(path string) (kept, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return kept{}, mountAPIError("keep "+path+" as it is", err)
	}
	return kept{fd: fd, path: path}, nil
}

// putBack mounts a kept tree over its path.
func putBack(t kept) error {
	if err := unix.MoveMount(t.fd, "", unix.AT_FDCWD, t.path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return mountAPIError("put "+t.path+" back", err)
	}
	return nil
}

// cover mounts a new tmpfs on each directory of dirs that exists, once
// for directories that are the same one (/lib/modules is /usr/lib/modules
// on a merged /usr), and not on one that holds a kept tree (a store moved
// to /tmp by DOCKAH_ROOT keeps the host's /tmp, as a volume there does).
func cover(dirs []string, trees []kept, flags uintptr, data string) error {
	type inode struct{ dev, ino uint64 }
	var seen []inode
	for _, dir := range dirs {
		if slices.ContainsFunc(trees, func(t kept) bool { return t.path == dir || strings.HasPrefix(t.path, dir+"/") }) {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				continue
			}
			return fmt.Errorf("cover %s: %w", dir, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || slices.Contains(seen, inode{st.Dev, st.Ino}) {
			continue
		}
		seen = append(seen, inode{st.Dev, st.Ino})
		if err := unix.Mount("tmpfs", dir, "tmpfs", flags, data); err != nil {
			return fmt.Errorf("cover %s with a tmpfs: %w", dir, err)
		}
	}
	return nil
}

// mask binds /dev/null over each file of files that exists.
func mask(files []string) error {
	for _, f := range files {
		if _, err := os.Lstat(f); err != nil {
			continue
		}
		null, err := unix.OpenTree(unix.AT_FDCWD, "/dev/null", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return mountAPIError("mask "+f, err)
		}
		err = unix.MoveMount(null, "", unix.AT_FDCWD, f, unix.MOVE_MOUNT_F_EMPTY_PATH)
		unix.Close(null)
		if errors.Is(err, unix.ENOENT) {
			// What is there cannot take a mount: a file deleted
			// since it was bound there (systemd-nspawn's fifo over
			// /proc/kmsg), which is not the kernel's anyway.
			continue
		}
		if err != nil {
			return mountAPIError("mask "+f, err)
		}
	}
	return nil
}

// mountAPIError words err, and makes a missing system call
// ErrNotSupported.
func mountAPIError(doing string, err error) error {
	if errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("%s: %w", doing, ErrNotSupported)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
