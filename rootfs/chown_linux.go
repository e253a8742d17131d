package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// chownRecordPrefix names, in ROOT/containers/NAME, the record of a bind
// volume given to the container's range ([[volume]] chown = true): the
// prefix, then the first 16 hex digits of the SHA-256 of the source path.
// It holds the range ("UID GID SIZE") and the source path.
const chownRecordPrefix = "chown-"

func chownRecord(source string) string {
	sum := sha256.Sum256([]byte(source))
	return chownRecordPrefix + hex.EncodeToString(sum[:8])
}

// VolumeIDRange returns the range the bind volume source was last given
// to for container (the zero range: the host's IDs, as it was found).
func (s *Store) VolumeIDRange(container, source string) (IDRange, error) {
	if err := checkContainerName(container); err != nil {
		return IDRange{}, err
	}
	data, err := os.ReadFile(s.path(dirContainers, container, chownRecord(source)))
	if errors.Is(err, fs.ErrNotExist) {
		return IDRange{}, nil
	}
	if err != nil {
		return IDRange{}, fmt.Errorf("container %s: volume %s: %w", container, source, err)
	}
	line, path, _ := strings.Cut(string(data), "\n")
	if strings.TrimSuffix(path, "\n") != source {
		// Another source with the same 64-bit prefix: never seen.
		return IDRange{}, fmt.Errorf("container %s: volume %s: the record %s is %q's", container, source, chownRecord(source), strings.TrimSuffix(path, "\n"))
	}
	return parseIDRange(line)
}

// ChownVolume gives the files of the bind volume source to the range want
// (host ID n becomes want's n, as ShiftWritable does for the writable
// layer), once: the range is recorded in the container's directory, and a
// start that finds it costs one small read. A volume given to another
// range before (userns_size changed, or the container went back to
// userns = "host", want's zero value) is moved from that range.
//
// The tree is walked through file descriptors, never following a
// symbolic link: each entry is opened O_PATH|O_NOFOLLOW below its
// directory's descriptor and changed through that descriptor, so a link
// or a directory swapped in meanwhile cannot send a chown elsewhere.
// Mounts below source (other file systems) are left as they are.
func (s *Store) ChownVolume(container, source string, want IDRange) error {
	have, err := s.VolumeIDRange(container, source)
	if err != nil {
		return err
	}
	if have == want {
		return nil
	}
	if err := shiftTree(source, have, want); err != nil {
		return fmt.Errorf("give the volume %s to the IDs %s: %w", source, want, err)
	}
	dir := s.path(dirContainers, container)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	record := want.String() + "\n" + source + "\n"
	if err := writeFileAtomic(s.path(dirContainers, container, chownRecord(source)), []byte(record), 0o600); err != nil {
		return fmt.Errorf("container %s: %w", container, err)
	}
	return nil
}

// shiftTree moves the owners of every file under dir (dir included) from
// the range have to want.
func shiftTree(dir string, have, want IDRange) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	mnt, err := mountID(fd)
	if err != nil {
		return &os.PathError{Op: "statx", Path: dir, Err: err}
	}
	return shiftDir(fd, dir, st, mnt, have, want)
}

// mountID is the id of the mount fd is on. (Not st_dev: overlayfs shows
// the device of the layer a file comes from for all but directories.)
func mountID(fd int) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, err
	}
	return stx.Mnt_id, nil
}

// shiftDir shifts the directory open as fd (whose stat is st) and, below
// it, every entry on the same mount (mnt).
func shiftDir(fd int, name string, st unix.Stat_t, mnt uint64, have, want IDRange) error {
	if err := shiftFd(fd, name, st, have, want); err != nil {
		return err
	}
	// Read through a copy of fd: the caller closes fd.
	dup, err := unix.Dup(fd)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dup), name)
	defer d.Close()
	for {
		names, err := d.Readdirnames(256)
		for _, n := range names {
			if err := shiftEntry(fd, name, n, mnt, have, want); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// shiftEntry shifts the entry n of the directory dirfd.
func shiftEntry(dirfd int, dirName, n string, mnt uint64, have, want IDRange) error {
	p := dirName + "/" + n
	fd, err := unix.Openat(dirfd, n, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil // removed meanwhile
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if id, err := mountID(fd); err != nil {
		return &os.PathError{Op: "statx", Path: p, Err: err}
	} else if id != mnt {
		return nil // another mount
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return shiftFd(fd, p, st, have, want)
	}
	// A directory is opened again to be read; O_NOFOLLOW, and the same
	// inode as the O_PATH descriptor, or it was swapped meanwhile.
	d, err := unix.Openat(dirfd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(d)
	var dst unix.Stat_t
	if err := unix.Fstat(d, &dst); err != nil {
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if dst.Dev != st.Dev || dst.Ino != st.Ino {
		return &os.PathError{Op: "open", Path: p, Err: errors.New("changed while it was being walked")}
	}
	return shiftDir(d, p, dst, mnt, have, want)
}

// shiftFd changes the owner of the file open as fd (an O_PATH descriptor
// of any type, or a directory's) and puts back the set-ID bits that
// chown clears on a regular file.
func shiftFd(fd int, p string, st unix.Stat_t, have, want IDRange) error {
	uid := shift(st.Uid, have.UID, have.Size, want.UID, want.Size)
	gid := shift(st.Gid, have.GID, have.Size, want.GID, want.Size)
	if uid == st.Uid && gid == st.Gid {
		return nil
	}
	if err := unix.Fchownat(fd, "", int(uid), int(gid), unix.AT_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "chown", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		// Through the descriptor's magic link: a regular file, whatever
		// the path now names.
		if err := unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), st.Mode&0o7777); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	return nil
}
