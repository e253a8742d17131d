package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// dirPlans holds the shim's start plans: plans/NAME, one small file per
// container, written and read by the shim (cmd/internal/launch decides
// what is in it and when it is still valid). A plan drives a privileged
// start, so it is trusted only from a directory and a file that no one
// but the store's owner could have written.
const dirPlans = "plans"

// maxPlan bounds the plan ReadPlan reads.
const maxPlan = 1 << 20

// ErrUntrusted means a plan file, or its directory, could have been
// written by someone other than the store's owner: a symlink, not a
// regular file, another owner, or writable by group or others.
var ErrUntrusted = errors.New("not trusted")

// ReadPlan returns the bytes of the start plan of container, or an error
// wrapping fs.ErrNotExist when there is none, ErrUntrusted when it or its
// directory is not the owner's alone. Neither the directory nor the file
// is followed through a symlink, and a FIFO or device in their place is
// never opened for reading.
func (s *Store) ReadPlan(container string) ([]byte, error) {
	if err := checkContainerName(container); err != nil {
		return nil, err
	}
	dir, err := unix.Open(s.path(dirPlans), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: s.path(dirPlans), Err: err}
	}
	defer unix.Close(dir)
	if err := ownedAlone(dir, unix.S_IFDIR); err != nil {
		return nil, fmt.Errorf("plans %s: %w", s.path(dirPlans), err)
	}
	// O_NONBLOCK: a FIFO put in place of a plan would block the open.
	fd, err := unix.Openat(dir, container, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: s.path(dirPlans, container), Err: err}
	}
	defer unix.Close(fd)
	if err := ownedAlone(fd, unix.S_IFREG); err != nil {
		return nil, fmt.Errorf("plan %s: %w", s.path(dirPlans, container), err)
	}
	buf := make([]byte, 0, 16<<10)
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxPlan {
				return nil, fmt.Errorf("plan %s: larger than %d bytes", s.path(dirPlans, container), maxPlan)
			}
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: s.path(dirPlans, container), Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// ownedAlone checks that fd is of type typ, owned by this process's
// effective user and not writable by group or others.
func ownedAlone(fd int, typ uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	switch {
	case st.Mode&unix.S_IFMT != typ:
		return fmt.Errorf("%w: mode %o", ErrUntrusted, st.Mode)
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%w: owned by uid %d", ErrUntrusted, st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("%w: writable by others (mode %o)", ErrUntrusted, st.Mode&0o7777)
	}
	return nil
}

// WritePlan stores the start plan of container, replacing the old one at
// once (a temp file renamed over it). A plan is a cache: it is not
// fsynced, and a plan torn by a crash must be recognised by its reader
// (a checksum) and rebuilt.
func (s *Store) WritePlan(container string, data []byte) error {
	if err := checkContainerName(container); err != nil {
		return err
	}
	if err := os.Mkdir(s.path(dirPlans), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write plan: %w", err)
	}
	// 0600 whatever the umask: the owner's alone.
	if err := writeFileRenamed(s.path(dirPlans, container), data, 0o600); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// RemovePlan deletes the start plan of container; none is not an error.
func (s *Store) RemovePlan(container string) error {
	if err := checkContainerName(container); err != nil {
		return err
	}
	if err := os.Remove(s.path(dirPlans, container)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove plan: %w", err)
	}
	return nil
}

// NameDirs are the directories whose entries decide what a reference
// resolves to: every change of a name or of a short name's target renames
// a file into one of them or removes one (records are replaced by
// rename), which changes the directory's modification and change times;
// and images/, whose listing decides what a prefix of an image ID means.
func (s *Store) NameDirs() []string {
	return []string{s.path(dirRefs), s.path(dirShortNames), s.path(dirImages)}
}

// ImageRecord is the path of the record of the image id (images/HEX.json):
// it exists exactly as long as the image does.
func (s *Store) ImageRecord(id string) (string, error) {
	hex, err := digestHex(id)
	if err != nil {
		return "", err
	}
	return s.path(dirImages, hex+".json"), nil
}
