package rootfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	dir, f, err := mkdirLocked(s.path(dirTemp), "work-")
	if err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	return &TempDir{Path: dir, lock: f}, nil
}

// mkdirLocked creates a temp directory in parent and returns it with the
// open file that holds its lock.
func mkdirLocked(parent, pattern string) (string, *os.File, error) {
	for range 10 {
		dir, err := os.MkdirTemp(parent, pattern)
		if err != nil {
			return "", nil, err
		}
		f, err := lockNew(dir)
		if err == nil {
			return dir, f, nil
		}
		if !errors.Is(err, errLost) {
			return "", nil, err
		}
	}
	return "", nil, errLost
}

// errLost says that a new temp entry was taken for a leftover by a
// concurrent CleanTemp before it could be locked.
var errLost = errors.New("removed by a concurrent cleanup")

// lockNew opens and locks a just-created temp directory.
func lockNew(p string) (*os.File, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errLost
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if err := lockFresh(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lockFresh locks a just-created temp entry. Between the creation and the
// lock, a concurrent CleanTemp may take it for a leftover and remove it;
// the lock is good only if the name still leads to the entry locked,
// otherwise errLost tells the caller to try another name.
func lockFresh(f *os.File) error {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return errLost // held by a CleanTemp about to remove it
	}
	held, err1 := f.Stat()
	named, err2 := os.Lstat(f.Name())
	if err1 != nil || err2 != nil || !os.SameFile(held, named) {
		return errLost
	}
	return nil
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
	for _, dir := range []string{dirTemp, dirImages, dirRefs, dirVolumes, dirPlans} {
		errs = append(errs, s.cleanDir(dir))
	}
	return errors.Join(errs...)
}

// cleanDir removes the leftovers in one directory of the store: every
// unlocked entry of tmp/, the unlocked .tmp-* entries elsewhere.
func (s *Store) cleanDir(dir string) error {
	entries, err := os.ReadDir(s.path(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clean leftovers: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if dir != dirTemp && !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if err := removeIfUnlocked(s.path(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// discardPrefix names the entries of tmp/ that are containers' removed
// writable layers (DiscardContainer), left for SweepDiscarded.
const discardPrefix = "discard-"

// maxDiscarded is how many discarded layers may wait in tmp/ at most.
const maxDiscarded = 4

// discardedLayers lists the discarded layers in tmp/ (none if there is no
// tmp/).
func (s *Store) discardedLayers() ([]string, error) {
	entries, err := os.ReadDir(s.path(dirTemp))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), discardPrefix) {
			paths = append(paths, s.path(dirTemp, e.Name()))
		}
	}
	return paths, nil
}

// discard renames a container's directory into tmp/, where nobody holds
// its lock: CleanTemp and SweepDiscarded remove it.
func (s *Store) discard(dir, container string) error {
	if err := os.MkdirAll(s.path(dirTemp), 0o700); err != nil {
		return err
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return err
	}
	return os.Rename(dir, s.path(dirTemp, discardPrefix+container+"-"+hex.EncodeToString(suffix[:])))
}

// isEmptyDir reports whether p is a directory with nothing in it.
func isEmptyDir(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	return len(names) == 0 && err == io.EOF
}

// SweepDiscarded removes the writable layers DiscardContainer left in
// tmp/, at least one, then more until stop is closed: a container's start
// calls it while it waits for systemd, so that the removal takes time
// nothing else uses. Each start removing at least one keeps what is left
// to about the one of the run before.
func (s *Store) SweepDiscarded(stop <-chan struct{}) error {
	layers, err := s.discardedLayers()
	if err != nil {
		return fmt.Errorf("remove discarded layers: %w", err)
	}
	for i, p := range layers {
		if i > 0 {
			select {
			case <-stop:
				return nil
			default:
			}
		}
		if err := removeIfUnlocked(p); err != nil {
			return err
		}
	}
	return nil
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
