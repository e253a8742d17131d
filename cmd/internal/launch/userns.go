package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/policy"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

// SubUIDFile and SubGIDFile are where the pools of container ranges are
// read from (their "containers" entries); tests point them elsewhere.
var SubUIDFile, SubGIDFile = "/etc/subuid", "/etc/subgid"

// VolatileRoot is where what lasts only until the next boot is recorded
// (a tmpfs); tests point it elsewhere.
var VolatileRoot = "/run/dockah"

// UserNSRegistry opens the store's registry of user namespace ranges:
// <store>/userns, and for transient containers the same path of the store
// under VolatileRoot/userns.
func UserNSRegistry(storeRoot string) (*policy.UserNSRegistry, error) {
	volatile, err := VolatileUserNSDir(storeRoot)
	if err != nil {
		return nil, err
	}
	return policy.OpenUserNSRegistry(filepath.Join(storeRoot, "userns"), volatile)
}

// VolatileUserNSDir is where the ranges of the store's transient
// containers are recorded: the store's path under VolatileRoot/userns.
// A transient container's shim writes there (its sandbox leaves it
// writable).
func VolatileUserNSDir(storeRoot string) (string, error) {
	abs, err := filepath.Abs(storeRoot)
	if err != nil {
		return "", fmt.Errorf("user namespace registry: %w", err)
	}
	return filepath.Join(VolatileRoot, "userns", abs), nil
}

// userNamespace returns the container's user namespace mapping for a start
// (nil with userns = "host"): the range it holds in the store's registry,
// or a new one, recorded until the next boot only for a transient
// container. An exec or a printed spec allocates nothing: an exec joins
// the running container's user namespace as it is.
func userNamespace(storeRoot, name string, c Container, mode Mode, transient bool) (*activation.IDMapping, error) {
	if c.UserNS != unitgen.UserNSAuto || mode != ModeStart {
		return nil, nil
	}
	reg, err := UserNSRegistry(storeRoot)
	if err != nil {
		return nil, err
	}
	if transient {
		reg = reg.Transient()
	}
	if c.UIDMap != 0 {
		// The definition's own range: recorded, so that no allocated
		// range overlaps it, and refused if it overlaps another's.
		m := policy.IDMapping{UID: c.UIDMap, GID: c.GIDMap, Size: c.UserNSSize}
		if err := reg.Reserve(name, m); err != nil {
			return nil, err
		}
		return &activation.IDMapping{UID: m.UID, GID: m.GID, Size: m.Size}, nil
	}
	pools, err := IDPools()
	if err != nil {
		return nil, err
	}
	size := c.UserNSSize
	if size == 0 {
		size = unitgen.DefaultUserNSSize
	}
	m, err := reg.Allocate(name, size, pools)
	if err != nil {
		return nil, err
	}
	activation.Trace("shim: user namespace range")
	return &activation.IDMapping{UID: m.UID, GID: m.GID, Size: m.Size}, nil
}

// shiftWritable makes the writable layer owned by the container's range
// (m), or by the host's IDs (m nil): a container that changed userns, or
// range, has its layer's owners moved once.
func shiftWritable(store *rootfs.Store, name string, m *activation.IDMapping, transient bool) error {
	var want rootfs.IDRange
	if m != nil {
		want = rootfs.IDRange{UID: m.UID, GID: m.GID, Size: m.Size}
	}
	return store.ShiftWritable(name, want, transient)
}

// chownVolumes gives the bind volumes marked chown = true to the
// container's range (m), or back to the host's IDs (m nil), once.
func chownVolumes(store *rootfs.Store, name string, mounts []specs.Mount, m *activation.IDMapping) error {
	var want rootfs.IDRange
	if m != nil {
		want = rootfs.IDRange{UID: m.UID, GID: m.GID, Size: m.Size}
	}
	for _, mnt := range mounts {
		if slices.Contains(mnt.Options, unitgen.ChownMount) {
			if err := store.ChownVolume(name, mnt.Source, want); err != nil {
				return fmt.Errorf("volume %s (chown = true): %w", mnt.Destination, err)
			}
		}
	}
	return nil
}

// IDPools reads the "containers" entries of /etc/subuid and /etc/subgid;
// a file without one (or missing) gives the largest span of
// policy.DefaultIDPool that none of its entries overlaps
// (policy.DefaultPoolFor), which is what `dockah system subids` writes.
func IDPools() (policy.Pools, error) {
	var pools policy.Pools
	for _, f := range []struct {
		path string
		out  *[]policy.IDRange
	}{{SubUIDFile, &pools.UID}, {SubGIDFile, &pools.GID}} {
		data, err := os.ReadFile(f.path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return pools, fmt.Errorf("user namespace ranges: %w", err)
		}
		ranges, err := policy.ParseSubIDs(data, f.path, policy.SubIDOwner)
		if err != nil {
			return pools, fmt.Errorf("user namespace ranges: %w", err)
		}
		if len(ranges) == 0 {
			ranges = policy.DefaultPoolFor(data)
		}
		*f.out = ranges
	}
	return pools, nil
}
