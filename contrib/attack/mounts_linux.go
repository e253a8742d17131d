package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs on a directory of our own and unmounts it.
func mountTmpfs(e *env) outcome {
	dir, err := os.MkdirTemp(e.tmp, "mnt-")
	if err != nil {
		return failure("%v", err)
	}
	defer os.Remove(dir)
	err = unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=16k")
	if err == nil {
		_ = unix.Unmount(dir, unix.MNT_DETACH)
	}
	return classify("mount(tmpfs)", err)
}

// umountMqueue unmounts the container's /dev/mqueue, which nothing
// needs; if it works, the container loses only that.
func umountMqueue(*env) outcome {
	// EINVAL (not a mount point) and EBUSY come after the permission
	// check.
	return classify("umount2(/dev/mqueue)", unix.Unmount("/dev/mqueue", 0), unix.EINVAL, unix.EBUSY)
}

// mknodBlock makes a node of a block device and opens it read-only (and
// reads nothing), anywhere it can: first on the root, which must be nodev,
// then, if mount is allowed, in a tmpfs of its own without nodev. The
// device is loop0 (7:0): opening it does nothing, bound or not. The attack
// succeeds when the device opens, or when the open reaches the driver
// (ENXIO: no loop driver behind the number).
func mknodBlock(e *env) outcome {
	const major, minor = 7, 0
	dev := fmt.Sprintf("%d:%d", major, minor)
	try := func(dir string) (string, error) {
		node := filepath.Join(dir, "blk")
		if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(unix.Mkdev(major, minor))); err != nil {
			return "mknod", err
		}
		defer unix.Unlink(node)
		fd, err := unix.Open(node, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		return "open", err
	}
	step, err := try(e.tmp)
	if step == "mknod" {
		return classify("mknod(block "+dev+") on the root", err)
	}
	if o := openedDevice(dev+" on the root", err); o.verdict != blocked {
		return o
	}
	onRoot := fmt.Sprintf("mknod(block %s) on the root: ok, open: %s", dev, errnoName(err))
	dir, err := os.MkdirTemp(e.tmp, "devfs-")
	if err != nil {
		return failure("%v", err)
	}
	defer os.Remove(dir)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=16k"); err != nil {
		return blockedBy("%s; mount of a tmpfs without nodev: %s", onRoot, errnoName(err))
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	step, err = try(dir)
	if step == "mknod" {
		o := classify("mknod in a tmpfs without nodev", err)
		o.detail = onRoot + "; " + o.detail
		return o
	}
	o := openedDevice(dev+" in a tmpfs without nodev", err)
	o.detail = onRoot + "; " + o.detail
	return o
}

func openedDevice(where string, err error) outcome {
	switch err {
	case nil:
		return allowedBy("opened block device %s", where)
	case unix.ENXIO, unix.ENODEV:
		return allowedBy("open of block device %s reached the driver: %s", where, errnoName(err))
	case unix.EACCES:
		return blockedBy("open of block device %s: EACCES (nodev)", where)
	case unix.EPERM:
		return blockedBy("open of block device %s: EPERM (device cgroup)", where)
	}
	return failure("open of block device %s: unexpected %s", where, errnoName(err))
}

// openByHandleAt is the "shocker" escape: open a file by its handle,
// which skips every directory on the way and, with a handle from
// another mount, reaches outside the root. The handle is of a file of
// our own on /dev/shm (tmpfs can make handles; the overlay root cannot);
// without CAP_DAC_READ_SEARCH the kernel refuses to decode it.
func openByHandleAt(e *env) outcome {
	const dir = "/dev/shm"
	f, err := os.CreateTemp(dir, "attack-handle-")
	if err != nil {
		return failure("create a file on %s: %v", dir, err)
	}
	f.Close()
	defer os.Remove(f.Name())
	mountFD, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return failure("open %s: %v", dir, err)
	}
	defer unix.Close(mountFD)
	what := "open_by_handle_at(a handle from name_to_handle_at)"
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, f.Name(), 0)
	if err != nil {
		// A well-formed handle of nothing: decoding it (past the
		// permission check) fails with ESTALE.
		what = fmt.Sprintf("open_by_handle_at(a made-up handle; name_to_handle_at: %s)", errnoName(err))
		h = unix.NewFileHandle(1, make([]byte, 8)) // FILEID_INO32_GEN
	}
	fd, err := unix.OpenByHandleAt(mountFD, h, unix.O_RDONLY|unix.O_CLOEXEC)
	if err == nil {
		unix.Close(fd)
	}
	return classify(what, err, unix.ESTALE)
}
