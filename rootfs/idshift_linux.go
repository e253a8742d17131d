package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// IDRange is the range of host IDs a container's writable layer holds its
// files with: host UID+n (GID+n) is the container's n, for n below Size.
// The zero value is the host's own IDs (userns = "host").
type IDRange struct {
	UID, GID, Size uint32
}

// idRangeFile, in ROOT/containers/NAME, records the range the writable
// layer's files are owned by; a layer without it has the host's IDs (it
// was written before dockah had user namespaces).
const idRangeFile = "idrange"

func (r IDRange) String() string {
	return fmt.Sprintf("%d %d %d", r.UID, r.GID, r.Size)
}

func parseIDRange(s string) (IDRange, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return IDRange{}, fmt.Errorf("%q is not UID GID SIZE", s)
	}
	var v [3]uint32
	for i, x := range f {
		n, err := strconv.ParseUint(x, 10, 32)
		if err != nil {
			return IDRange{}, fmt.Errorf("%q is not UID GID SIZE", s)
		}
		v[i] = uint32(n)
	}
	return IDRange{v[0], v[1], v[2]}, nil
}

// ContainerIDRange returns the range the container's writable layer is
// owned by (the zero range: the host's IDs).
func (s *Store) ContainerIDRange(container string) (IDRange, error) {
	if err := checkContainerName(container); err != nil {
		return IDRange{}, err
	}
	data, err := os.ReadFile(s.path(dirContainers, container, idRangeFile))
	if errors.Is(err, fs.ErrNotExist) {
		return IDRange{}, nil
	}
	if err != nil {
		return IDRange{}, fmt.Errorf("container %s: %w", container, err)
	}
	r, err := parseIDRange(string(data))
	if err != nil {
		return IDRange{}, fmt.Errorf("container %s: %s: %w", container, idRangeFile, err)
	}
	return r, nil
}

// ShiftWritable makes the container's writable layer owned by want: a
// layer written with another range (or with the host's IDs, before the
// container had a user namespace, or after it lost it) has each owner
// moved from the old range to the new, the set-ID bits that chown clears
// put back, and the new range recorded. A layer already owned by want
// costs one small read. The container must not run. A transient
// container's record (MountOptions.Transient) is not synced.
func (s *Store) ShiftWritable(container string, want IDRange, transient bool) error {
	have, err := s.ContainerIDRange(container)
	if err != nil {
		return err
	}
	if have == want {
		return nil
	}
	upper := s.path(dirContainers, container, "upper")
	_, err = os.Lstat(upper)
	if err == nil {
		err = shiftTree(upper, have, want)
	} else if errors.Is(err, fs.ErrNotExist) {
		err = nil // a read-only root has no layer
	}
	if err != nil {
		return fmt.Errorf("shift the writable layer of %s to the IDs %s: %w", container, want, err)
	}
	if err := writeFile(s.path(dirContainers, container, idRangeFile), []byte(want.String()+"\n"), 0o600, !transient); err != nil {
		return fmt.Errorf("container %s: %w", container, err)
	}
	return nil
}

// shift returns the host ID of the container's ID behind host ID id of
// range base/size in the range to/toSize; IDs the ranges do not map stay.
func shift(id, base, size, to, toSize uint32) uint32 {
	cid := id
	if size > 0 {
		if id < base || uint64(id) >= uint64(base)+uint64(size) {
			return id
		}
		cid = id - base
	}
	if toSize == 0 {
		return cid
	}
	if cid >= toSize {
		return id
	}
	return to + cid
}
