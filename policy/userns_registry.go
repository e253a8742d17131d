package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// UserNSRegistry is the host's record of which container holds which
// range of host user and group IDs. Like the MCS registry it is a small
// JSON file changed only under an exclusive flock(2) of a lock file
// beside it and written with an atomic rename, so that concurrent starts
// never hand out overlapping ranges. An entry stays until the container's
// definition is removed (Release): a container keeps its range across
// restarts and reboots, and so do the files it owns.
type UserNSRegistry struct {
	dir string
}

// IDMapping is one container's user namespace: container IDs 0 to Size-1
// are host IDs UID (or GID) to UID+Size-1.
type IDMapping struct {
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	Size uint32 `json:"size"`
}

// UIDRange and GIDRange are the host ranges of the mapping.
func (m IDMapping) UIDRange() IDRange { return IDRange{Start: m.UID, Size: m.Size} }
func (m IDMapping) GIDRange() IDRange { return IDRange{Start: m.GID, Size: m.Size} }

// Pools are where ranges are allocated from: the "containers" entries of
// /etc/subuid and /etc/subgid, or DefaultIDPool.
type Pools struct {
	UID, GID []IDRange
}

type usernsFile struct {
	Version    int                  `json:"version"`
	Containers map[string]IDMapping `json:"containers"`
}

const (
	usernsName    = "ranges.json"
	usernsLock    = "ranges.lock"
	usernsVersion = 1
)

// OpenUserNSRegistry opens (creating, 0700) the registry in dir; the shim
// passes <store>/userns.
func OpenUserNSRegistry(dir string) (*UserNSRegistry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open user namespace registry: %w", err)
	}
	return &UserNSRegistry{dir: dir}, nil
}

// Allocate returns the container's mapping: the one it holds if its size
// is size, or else a new range of size IDs from the pools that overlaps
// no other container's. The common case, a container that holds its
// range, takes a shared lock and writes nothing.
func (r *UserNSRegistry) Allocate(name string, size uint32, pools Pools) (IDMapping, error) {
	if err := checkContainerName(name); err != nil {
		return IDMapping{}, err
	}
	out, found, err := r.held(name)
	if err != nil {
		return IDMapping{}, err
	}
	if found && out.Size == size {
		return out, nil
	}
	err = r.locked(unix.LOCK_EX, func() error {
		f, err := r.load()
		if err != nil {
			return err
		}
		if m, ok := f.Containers[name]; ok && m.Size == size {
			out = m // allocated meanwhile by a concurrent start
			return nil
		}
		var uids, gids []IDRange
		for other, m := range f.Containers {
			if other != name {
				uids, gids = append(uids, m.UIDRange()), append(gids, m.GIDRange())
			}
		}
		uid, ok := allocateRange(pools.UID, uids, size)
		if !ok {
			return fmt.Errorf("allocate %d user IDs for %s: no free range left in the pool %v (%d containers hold ranges); add IDs to the %q entry of /etc/subuid or lower userns_size", size, name, pools.UID, len(f.Containers), SubIDOwner)
		}
		gid, ok := allocateRange(pools.GID, gids, size)
		if !ok {
			return fmt.Errorf("allocate %d group IDs for %s: no free range left in the pool %v (%d containers hold ranges); add IDs to the %q entry of /etc/subgid or lower userns_size", size, name, pools.GID, len(f.Containers), SubIDOwner)
		}
		out = IDMapping{UID: uid, GID: gid, Size: size}
		f.Containers[name] = out
		return r.save(f)
	})
	return out, err
}

// Reserve records m, a mapping the definition gives explicitly
// (uid_map, gid_map), as the container's, so that no range allocated
// later overlaps it; it refuses one that overlaps another container's
// range, naming that container. A container that holds m already takes a
// shared lock and writes nothing.
func (r *UserNSRegistry) Reserve(name string, m IDMapping) error {
	if err := checkContainerName(name); err != nil {
		return err
	}
	held, found, err := r.held(name)
	if err != nil || (found && held == m) {
		return err
	}
	return r.locked(unix.LOCK_EX, func() error {
		f, err := r.load()
		if err != nil {
			return err
		}
		for other, o := range f.Containers {
			if other == name {
				continue
			}
			if m.UIDRange().overlaps(o.UIDRange()) {
				return fmt.Errorf("uid_map \"0 %d %d\" of %s overlaps the user IDs %d to %d of container %s: choose host IDs no other container holds (dockah inspect shows each container's)", m.UID, m.Size, name, o.UID, uint64(o.UID)+uint64(o.Size)-1, other)
			}
			if m.GIDRange().overlaps(o.GIDRange()) {
				return fmt.Errorf("gid_map \"0 %d %d\" of %s overlaps the group IDs %d to %d of container %s: choose host IDs no other container holds (dockah inspect shows each container's)", m.GID, m.Size, name, o.GID, uint64(o.GID)+uint64(o.Size)-1, other)
			}
		}
		f.Containers[name] = m
		return r.save(f)
	})
}

// Release frees the container's range. Releasing an unknown name is not
// an error.
func (r *UserNSRegistry) Release(name string) error {
	return r.locked(unix.LOCK_EX, func() error {
		f, err := r.load()
		if err != nil {
			return err
		}
		if _, ok := f.Containers[name]; !ok {
			return nil
		}
		delete(f.Containers, name)
		return r.save(f)
	})
}

// held returns the mapping the container holds, under a shared lock.
func (r *UserNSRegistry) held(name string) (m IDMapping, found bool, err error) {
	err = r.locked(unix.LOCK_SH, func() error {
		f, err := r.load()
		m, found = f.Containers[name]
		return err
	})
	return m, found, err
}

// List returns every container's mapping.
func (r *UserNSRegistry) List() (map[string]IDMapping, error) {
	var out map[string]IDMapping
	err := r.locked(unix.LOCK_SH, func() error {
		f, err := r.load()
		out = f.Containers
		return err
	})
	return out, err
}

func (r *UserNSRegistry) locked(how int, fn func() error) error {
	return withFlock(filepath.Join(r.dir, usernsLock), how, "user namespace registry", fn)
}

// withFlock runs fn holding a flock of the lock file at path (created
// when missing). flock locks belong to the open file description, so
// goroutines of one process exclude each other as separate processes do.
func withFlock(path string, how int, what string, fn func() error) error {
	lock, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock %s: %w", what, err)
	}
	defer lock.Close() // closing releases the lock
	for {
		err = unix.Flock(int(lock.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", what, err)
	}
	return fn()
}

// load reads the record; a missing file is an empty record, a damaged one
// an error (starting afresh could hand out a range twice).
func (r *UserNSRegistry) load() (usernsFile, error) {
	f := usernsFile{Version: usernsVersion, Containers: map[string]IDMapping{}}
	path := filepath.Join(r.dir, usernsName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("read user namespace registry: %w", err)
	}
	if len(data) > maxRegistrySize {
		return f, fmt.Errorf("read user namespace registry %s: larger than %d bytes", path, maxRegistrySize)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("read user namespace registry %s: %w", path, err)
	}
	if f.Version != usernsVersion {
		return f, fmt.Errorf("read user namespace registry %s: version %d, want %d", path, f.Version, usernsVersion)
	}
	if f.Containers == nil {
		f.Containers = map[string]IDMapping{}
	}
	for name, m := range f.Containers {
		if m.Size == 0 || m.UID == 0 || m.GID == 0 || m.UIDRange().end() > 1<<32 || m.GIDRange().end() > 1<<32 {
			return f, fmt.Errorf("read user namespace registry %s: container %s: bad range %+v", path, name, m)
		}
	}
	return f, nil
}

func (r *UserNSRegistry) save(f usernsFile) error {
	data, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return fmt.Errorf("write user namespace registry: %w", err)
	}
	if err := writeFileAtomic(r.dir, filepath.Join(r.dir, usernsName), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write user namespace registry: %w", err)
	}
	return nil
}
