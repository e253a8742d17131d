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
//
// A transient container (dockah run's, whose definition is in /run) does
// not outlive the boot, and its range need not either: it is recorded in
// a second file of the same form in a volatile directory (under /run),
// guarded by the same lock, and written without a sync. Both records are
// read for every allocation, so no range is handed out twice. A run of
// a container with --rm then writes nothing durable to the registry: the
// four fsyncs of its allocation and release are gone, which on a real
// disk are most of what a run spends waiting.
type UserNSRegistry struct {
	dir      string
	volatile string // "": no volatile record
	// transient records new entries in the volatile file (Transient).
	transient bool
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

// OpenUserNSRegistry opens (creating, 0700) the registry in dir, with
// transient containers' ranges in volatileDir ("": none); the shim passes
// <store>/userns and the same path under /run/dockah/userns.
func OpenUserNSRegistry(dir, volatileDir string) (*UserNSRegistry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open user namespace registry: %w", err)
	}
	return &UserNSRegistry{dir: dir, volatile: volatileDir}, nil
}

// Transient returns the registry as a transient container uses it: the
// ranges it allocates or reserves are recorded in the volatile file. A
// registry without one records them durably all the same.
func (r *UserNSRegistry) Transient() *UserNSRegistry {
	t := *r
	t.transient = r.volatile != ""
	return &t
}

// records are both files' entries, as read under the lock.
type records struct {
	durable, volatile usernsFile
}

// lookup returns the container's mapping, from either file.
func (rs records) lookup(name string) (IDMapping, bool) {
	if m, ok := rs.volatile.Containers[name]; ok {
		return m, true
	}
	m, ok := rs.durable.Containers[name]
	return m, ok
}

// recorded reports whether the container holds m where r records it: a
// range in the volatile file that is now to be durable must move (the
// other way round, a durable record does no harm).
func (r *UserNSRegistry) recorded(rs records, name string, m IDMapping) bool {
	if held, ok := rs.durable.Containers[name]; ok && held == m {
		return true
	}
	held, ok := rs.volatile.Containers[name]
	return ok && held == m && r.transient
}

// others calls fn for every other container's mapping.
func (rs records) others(name string, fn func(other string, m IDMapping)) {
	for _, f := range []usernsFile{rs.durable, rs.volatile} {
		for other, m := range f.Containers {
			if other != name {
				fn(other, m)
			}
		}
	}
}

// count is how many containers hold ranges.
func (rs records) count() int { return len(rs.durable.Containers) + len(rs.volatile.Containers) }

// Allocate returns the container's mapping: the one it holds if its size
// is size, or else a new range of size IDs from the pools that overlaps
// no other container's. The common case, a container that holds its
// range, takes a shared lock and writes nothing.
func (r *UserNSRegistry) Allocate(name string, size uint32, pools Pools) (IDMapping, error) {
	if err := checkContainerName(name); err != nil {
		return IDMapping{}, err
	}
	rs, err := r.held()
	if err != nil {
		return IDMapping{}, err
	}
	if m, ok := rs.lookup(name); ok && m.Size == size && r.recorded(rs, name, m) {
		return m, nil
	}
	var out IDMapping
	err = r.locked(unix.LOCK_EX, func() error {
		rs, err := r.load()
		if err != nil {
			return err
		}
		if m, ok := rs.lookup(name); ok && m.Size == size {
			// Allocated meanwhile by a concurrent start, or to move.
			out = m
			if r.recorded(rs, name, m) {
				return nil
			}
			return r.put(rs, name, m)
		}
		var uids, gids []IDRange
		rs.others(name, func(_ string, m IDMapping) {
			uids, gids = append(uids, m.UIDRange()), append(gids, m.GIDRange())
		})
		uid, ok := allocateRange(pools.UID, uids, size)
		if !ok {
			return fmt.Errorf("allocate %d user IDs for %s: no free range left in the pool %v (%d containers hold ranges); add IDs to the %q entry of /etc/subuid or lower userns_size", size, name, pools.UID, rs.count(), SubIDOwner)
		}
		gid, ok := allocateRange(pools.GID, gids, size)
		if !ok {
			return fmt.Errorf("allocate %d group IDs for %s: no free range left in the pool %v (%d containers hold ranges); add IDs to the %q entry of /etc/subgid or lower userns_size", size, name, pools.GID, rs.count(), SubIDOwner)
		}
		out = IDMapping{UID: uid, GID: gid, Size: size}
		return r.put(rs, name, out)
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
	rs, err := r.held()
	if err != nil || r.recorded(rs, name, m) {
		return err
	}
	return r.locked(unix.LOCK_EX, func() error {
		rs, err := r.load()
		if err != nil {
			return err
		}
		var clash error
		rs.others(name, func(other string, o IDMapping) {
			switch {
			case clash != nil:
			case m.UIDRange().overlaps(o.UIDRange()):
				clash = fmt.Errorf("uid_map \"0 %d %d\" of %s overlaps the user IDs %d to %d of container %s: choose host IDs no other container holds (dockah inspect shows each container's)", m.UID, m.Size, name, o.UID, uint64(o.UID)+uint64(o.Size)-1, other)
			case m.GIDRange().overlaps(o.GIDRange()):
				clash = fmt.Errorf("gid_map \"0 %d %d\" of %s overlaps the group IDs %d to %d of container %s: choose host IDs no other container holds (dockah inspect shows each container's)", m.GID, m.Size, name, o.GID, uint64(o.GID)+uint64(o.Size)-1, other)
			}
		})
		if clash != nil {
			return clash
		}
		return r.put(rs, name, m)
	})
}

// Release frees the container's range. Releasing an unknown name is not
// an error.
func (r *UserNSRegistry) Release(name string) error {
	return r.locked(unix.LOCK_EX, func() error {
		rs, err := r.load()
		if err != nil {
			return err
		}
		if err := r.drop(rs, name, true); err != nil {
			return err
		}
		return r.drop(rs, name, false)
	})
}

// put records m as the container's, in the file this registry records
// in, and takes it out of the other.
func (r *UserNSRegistry) put(rs records, name string, m IDMapping) error {
	var err error
	if r.transient {
		rs.volatile.Containers[name] = m
		err = r.saveVolatile(rs.volatile)
	} else {
		rs.durable.Containers[name] = m
		err = r.save(rs.durable)
	}
	if err != nil {
		return err
	}
	return r.drop(rs, name, !r.transient)
}

// drop takes the container out of the volatile or the durable record,
// if it is there.
func (r *UserNSRegistry) drop(rs records, name string, volatile bool) error {
	f, save := rs.durable, r.save
	if volatile {
		f, save = rs.volatile, r.saveVolatile
	}
	if _, ok := f.Containers[name]; !ok {
		return nil
	}
	delete(f.Containers, name)
	return save(f)
}

// held reads the records under a shared lock.
func (r *UserNSRegistry) held() (rs records, err error) {
	err = r.locked(unix.LOCK_SH, func() error {
		rs, err = r.load()
		return err
	})
	return rs, err
}

// List returns every container's mapping.
func (r *UserNSRegistry) List() (map[string]IDMapping, error) {
	out := map[string]IDMapping{}
	err := r.locked(unix.LOCK_SH, func() error {
		rs, err := r.load()
		rs.others("", func(name string, m IDMapping) { out[name] = m })
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

// load reads both records.
func (r *UserNSRegistry) load() (records, error) {
	durable, err := loadUsernsFile(filepath.Join(r.dir, usernsName))
	if err != nil {
		return records{}, err
	}
	volatile := usernsFile{Version: usernsVersion, Containers: map[string]IDMapping{}}
	if r.volatile != "" {
		if volatile, err = loadUsernsFile(filepath.Join(r.volatile, usernsName)); err != nil {
			return records{}, err
		}
	}
	return records{durable: durable, volatile: volatile}, nil
}

// loadUsernsFile reads one record; a missing file is an empty record, a
// damaged one an error (starting afresh could hand out a range twice).
func loadUsernsFile(path string) (usernsFile, error) {
	f := usernsFile{Version: usernsVersion, Containers: map[string]IDMapping{}}
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

// save writes the durable record.
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

// saveVolatile writes the volatile record: renamed into place, so that
// readers see one or the other, but not synced, since a crash takes it
// away with /run and the containers it is about.
func (r *UserNSRegistry) saveVolatile(f usernsFile) error {
	path := filepath.Join(r.volatile, usernsName)
	if len(f.Containers) == 0 {
		// Nothing transient left: no file either.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write user namespace registry: %w", err)
		}
		return nil
	}
	data, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return fmt.Errorf("write user namespace registry: %w", err)
	}
	if err := os.MkdirAll(r.volatile, 0o700); err != nil {
		return fmt.Errorf("write user namespace registry: %w", err)
	}
	if err := writeFileRenamed(r.volatile, path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write user namespace registry: %w", err)
	}
	return nil
}
