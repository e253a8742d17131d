package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// TempDir is a work directory under ROOT/tmp that its creator holds an
// flock on. A directory whose lock nobody holds is a leftover of a killed
// command, and CleanTemp removes it.
type TempDir struct {
	// Path is the directory; after InstallLayer it is the installed layer.
	Path      string
	lock      *os.File
	installed bool
}

// TempDir creates a locked work directory in the store.
func (s *Store) TempDir() (*TempDir, error) {
	if err := s.mkdirs(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(s.path(dirTemp), "work-")
	if err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	f, err := os.Open(dir)
	if err == nil {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		os.RemoveAll(dir)
		return nil, fmt.Errorf("lock work directory: %w", err)
	}
	return &TempDir{Path: dir, lock: f}, nil
}

// Remove deletes the directory, unless it was installed, and drops the lock.
func (t *TempDir) Remove() error {
	if t == nil || t.lock == nil {
		return nil
	}
	defer func() { t.lock.Close(); t.lock = nil }()
	if t.installed {
		return nil
	}
	return removeAll(t.Path)
}

// CleanTemp removes what killed commands left behind: work directories
// and temp files whose lock nobody holds. It is safe while other commands
// run, since their work is locked.
func (s *Store) CleanTemp() error {
	var errs []error
	for _, dir := range []string{dirTemp, dirImages, dirRefs} {
		entries, err := os.ReadDir(s.path(dir))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("clean leftovers: %w", err))
			continue
		}
		for _, e := range entries {
			if dir != dirTemp && !strings.HasPrefix(e.Name(), ".tmp-") {
				continue
			}
			if err := removeIfUnlocked(s.path(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func removeIfUnlocked(p string) error {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("clean leftovers: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil // held: work in progress
	}
	return removeAll(p)
}

// removeAll removes a tree, first making its directories writable: a
// layer's tree may hold read-only directories that a non-root owner
// cannot otherwise empty.
func removeAll(p string) error {
	err := os.RemoveAll(p)
	if err == nil {
		return nil
	}
	filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o700)
		}
		return nil
	})
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}
