package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The named volumes are volumes/NAME/_data each (dirVolumes). The shim
// creates a volume at the start of the first container that names it
// (CreateVolume); the store lists, measures and removes them.

// Volumes lists the named volumes, sorted.
func (s *Store) Volumes() ([]string, error) { return s.subdirs(dirVolumes, "volumes") }

// subdirs lists the directories in dir, sorted; none when dir is missing.
func (s *Store) subdirs(dir, what string) ([]string, error) {
	entries, err := os.ReadDir(s.path(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	var names []string
	for _, e := range entries {
		// A name starting with "." is a volume being created
		// (.tmp-NAME-*), not one yet.
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// RemoveVolume deletes a named volume and its data. It holds the store
// lock exclusively while it moves the volume out of sight, with one
// rename into a work directory deleted once the lock is released: a
// crash leaves the volume whole or a leftover under tmp/. The caller
// checks that nothing uses the volume; the store knows no definitions.
func (s *Store) RemoveVolume(name string) error {
	if err := checkContainerName(name); err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	var trash trash
	defer func() { trash.empty() }()
	lk, err := s.LockExclusive()
	if err != nil {
		return err
	}
	defer lk.Release() // runs before trash.empty
	tmp, err := s.TempDir()
	if err != nil {
		return err
	}
	trash = append(trash, tmp)
	if err := os.Rename(s.path(dirVolumes, name), filepath.Join(tmp.Path, "volume")); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return syncDir(s.path(dirVolumes))
}

// ContainerSize is the size of a container's writable layer and record,
// ROOT/containers/NAME (see DiskUsage).
func (s *Store) ContainerSize(container string) (int64, error) {
	if err := checkContainerName(container); err != nil {
		return 0, err
	}
	return DiskUsage(s.path(dirContainers, container))
}

// VolumeSize is the size of a named volume (see DiskUsage).
func (s *Store) VolumeSize(name string) (int64, error) {
	if err := checkContainerName(name); err != nil {
		return 0, fmt.Errorf("volume: %w", err)
	}
	return DiskUsage(s.path(dirVolumes, name))
}

// DiskUsage is the bytes of file content below dir: the sizes of its
// regular files, a file with several hard links counted once, as a
// layer's Size counts its tar's contents. Symlinks are not followed. A
// file removed while it is walked (a running container writing) is
// skipped; a dir that does not exist is 0.
func DiskUsage(dir string) (int64, error) {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			key := inode{uint64(st.Dev), st.Ino}
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("measure %s: %w", dir, err)
	}
	return total, nil
}
