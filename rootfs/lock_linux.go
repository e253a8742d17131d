package rootfs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Lock is a held flock(2) lock. Each Lock has its own open file
// description, so locks taken by goroutines of one process exclude each
// other exactly as locks of different processes do.
type Lock struct {
	fd int
}

// Release drops the lock. It is safe to call on a nil Lock.
func (l *Lock) Release() {
	if l == nil || l.fd < 0 {
		return
	}
	// Closing the last descriptor of the open file description drops the
	// flock; no explicit LOCK_UN is needed.
	unix.Close(l.fd)
	l.fd = -1
}

func lockFile(path string, how int) (*Lock, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(fd, how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{fd: fd}, nil
}

// LockShared takes the store lock shared. Readers (Resolve callers that
// mount, MountPlan) and importers hold it shared: any number at once.
func (s *Store) LockShared() (*Lock, error) {
	return lockFile(s.path(fileLock), unix.LOCK_SH)
}

// LockExclusive takes the store lock exclusively. Removal and garbage
// collection hold it so that no layer they delete is in use by an import
// or a MountPlan in progress.
func (s *Store) LockExclusive() (*Lock, error) {
	return lockFile(s.path(fileLock), unix.LOCK_EX)
}

// LockLayer takes the per-layer lock for diffID exclusively: two imports
// of the same layer at once unpack it once, the second waiting for the
// first and then finding the layer stored.
func (s *Store) LockLayer(diffID string) (*Lock, error) {
	hex, err := digestHex(diffID)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.path(dirLayerLocks), 0o700); err != nil {
		return nil, fmt.Errorf("lock layer: %w", err)
	}
	return lockFile(s.path(dirLayerLocks, hex), unix.LOCK_EX)
}
