package rootfs

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// VolumeDir returns the directory of the named volumes: NAME/_data in it
// is the volume NAME.
func (s *Store) VolumeDir() string { return s.path(dirVolumes) }

// CreateVolume makes the named volume name, ROOT/volumes/NAME/_data,
// unless it exists, and reports whether it did. A volume that exists in
// any form, even empty, is left alone: that check is one lstat, all a
// start costs once the volume is there.
//
// A new volume is made in a locked temp directory next to it
// (ROOT/volumes/.tmp-NAME-*), mode 0755 whatever the umask, which fill,
// unless nil, fills (and may give another owner and mode); then one
// syncfs, and a rename that never replaces anything. So the volume
// appears complete or not at all: a fill that fails or a process killed
// halfway leaves no volume, and the next start creates it again (the
// leftover is removed then, or by CleanTemp). Of two starts creating the
// same volume at once, the first rename wins and the other's copy is
// dropped. The store lock is held shared meanwhile, so that the layers
// fill may read stay.
func (s *Store) CreateVolume(name string, fill func(dir string) error) (bool, error) {
	if err := checkVolumeName(name); err != nil {
		return false, err
	}
	data := s.path(dirVolumes, name, "_data")
	var st unix.Stat_t
	err := unix.Lstat(data, &st)
	if err == nil {
		return false, nil
	}
	if err != unix.ENOENT {
		return false, fmt.Errorf("volume %s: %w", name, &fs.PathError{Op: "lstat", Path: data, Err: err})
	}
	created, err := s.createVolume(name, data, fill)
	if err != nil {
		return false, fmt.Errorf("create volume %s: %w", name, err)
	}
	return created, nil
}

func (s *Store) createVolume(name, data string, fill func(dir string) error) (bool, error) {
	lk, err := s.LockShared()
	if err != nil {
		return false, err
	}
	defer lk.Release()
	if err := os.MkdirAll(s.path(dirVolumes, name), 0o700); err != nil {
		return false, err
	}
	if err := s.cleanDir(dirVolumes); err != nil {
		return false, err
	}
	tmp, lock, err := mkdirLocked(s.path(dirVolumes), ".tmp-"+name+"-")
	if err != nil {
		return false, err
	}
	// Closed after the rename, so that no cleanup takes the finished
	// volume's directory for a leftover while it is renamed.
	defer lock.Close()
	placed := false
	defer func() {
		if !placed {
			removeAll(tmp)
		}
	}()
	// As Docker makes a new volume; the generated unit's umask is 0077.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, err
	}
	if fill != nil {
		if err := fill(tmp); err != nil {
			return false, err
		}
	}
	// The tree was written without an fsync per file; one syncfs makes
	// all of it durable before it can be seen.
	if err := unix.Syncfs(int(lock.Fd())); err != nil {
		return false, fmt.Errorf("sync %s: %w", tmp, err)
	}
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, data, unix.RENAME_NOREPLACE)
	if err == unix.EEXIST {
		return false, nil // a concurrent start made it first
	}
	if err != nil {
		return false, &os.LinkError{Op: "rename", Old: tmp, New: data, Err: err}
	}
	placed = true
	return true, syncDir(s.path(dirVolumes, name))
}

// checkVolumeName keeps a volume name one path element that no temp
// name (.tmp-*) can take: as unitgen accepts them, letters, digits and
// _ . - starting with a letter or digit.
func checkVolumeName(name string) error {
	if name == "" || len(name) > 255 || !isAlnum(name[0]) {
		return fmt.Errorf("volume name %q: want 1 to 255 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return fmt.Errorf("volume name %q has %q (accepted: A-Z a-z 0-9 _ . -)", name, c)
		}
	}
	return nil
}
