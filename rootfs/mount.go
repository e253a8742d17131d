package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MountOptions choose the writable layer of a container.
type MountOptions struct {
	// Ephemeral empties the writable layer at each MountPlan, so every
	// start begins from the image.
	Ephemeral bool
	// ReadOnly gives the container no writable layer at all.
	ReadOnly bool
	// Transient marks a container that does not outlive the host's boot
	// (dockah run's, whose definition is in /run): its record is written
	// atomically but not fsynced, which spares its start two syncs.
	Transient bool
}

// Plan is what the activation shim mounts as a container's root: an
// overlayfs of Lower (topmost first) under Upper, with Work as overlayfs's
// work directory. Upper and Work are empty for a read-only root.
type Plan struct {
	ImageID string
	Lower   []string
	Upper   string
	Work    string
}

// maxMountData is the size of the page the kernel copies mount options
// into; overlayfs's lowerdir list has to fit.
const maxMountData = 4096

// Data returns the overlayfs mount options for the plan, with ':' and ','
// in paths escaped as overlayfs expects.
func (p *Plan) Data() string {
	lower := make([]string, len(p.Lower))
	for i, l := range p.Lower {
		lower[i] = escapeOverlay(l)
	}
	data := "lowerdir=" + strings.Join(lower, ":")
	if p.Upper != "" {
		data += ",upperdir=" + escapeOverlay(p.Upper) + ",workdir=" + escapeOverlay(p.Work)
	}
	return data
}

// overlayEscaper escapes what overlayfs's option parser splits on.
var overlayEscaper = strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`)

func escapeOverlay(p string) string { return overlayEscaper.Replace(p) }

// MountPlan resolves ref and prepares the writable layer of container
// under ROOT/containers/NAME: upper and work are created if missing,
// emptied first when Ephemeral, and left out when ReadOnly. The image ID
// is recorded in ROOT/containers/NAME/image for commit and for the
// in-use check of image removal. It reads two small files and makes a few
// mkdir calls; it mounts nothing.
func (s *Store) MountPlan(ref, container string, opts MountOptions) (*Plan, error) {
	if err := checkContainerName(container); err != nil {
		return nil, err
	}
	lk, err := s.LockShared()
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	img, err := s.Resolve(ref)
	if err != nil {
		return nil, err
	}
	lower := make([]string, 0, len(img.Layers))
	for i := len(img.Layers) - 1; i >= 0; i-- {
		lower = append(lower, img.Layers[i].Dir)
	}
	return s.planWritable(img.ID, lower, container, opts)
}

// Writable is MountPlan for an image already resolved, as a start plan
// of the shim remembers it: its ID and its layer dirs, topmost first. It
// checks that the image is still stored and records it as the
// container's under the store lock, as MountPlan does, so that an image
// removal either sees the container using it or has removed it first
// (then the image's record is gone, and Writable fails with ErrNotFound).
func (s *Store) Writable(imageID string, lower []string, container string, opts MountOptions) (*Plan, error) {
	if err := checkContainerName(container); err != nil {
		return nil, err
	}
	record, err := s.ImageRecord(imageID)
	if err != nil {
		return nil, err
	}
	lk, err := s.LockShared()
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	var st unix.Stat_t
	if err := unix.Stat(record, &st); err != nil {
		return nil, fmt.Errorf("image %s: %w", imageID, ErrNotFound)
	}
	return s.planWritable(imageID, slices.Clone(lower), container, opts)
}

// planWritable completes a plan of the image id with lower dirs: the
// empty lower dirs overlayfs needs, the writable layer and the record.
// The caller holds the store lock shared.
func (s *Store) planWritable(id string, lower []string, container string, opts MountOptions) (*Plan, error) {
	plan := &Plan{ImageID: id, Lower: lower}
	// overlayfs needs a lower dir, and two when it has no upper: empty
	// directories make up the count.
	want := 1
	if opts.ReadOnly {
		want = 2
	}
	for i := 0; len(plan.Lower) < want; i++ {
		empty := s.path(dirLinks, "empty"+strconv.Itoa(i))
		if err := os.MkdirAll(empty, 0o755); err != nil {
			return nil, fmt.Errorf("mount plan %s: %w", container, err)
		}
		plan.Lower = append(plan.Lower, empty)
	}
	cdir := s.path(dirContainers, container)
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		return nil, fmt.Errorf("mount plan %s: %w", container, err)
	}
	if err := s.recordContainerImage(container, id, !opts.Transient); err != nil {
		return nil, err
	}
	if !opts.ReadOnly {
		plan.Upper, plan.Work = s.path(dirContainers, container, "upper"), s.path(dirContainers, container, "work")
		if err := prepareWritable(plan.Upper, plan.Work, opts.Ephemeral); err != nil {
			return nil, fmt.Errorf("mount plan %s: %w", container, err)
		}
	}
	if n := len(plan.Data()); n >= maxMountData {
		return nil, fmt.Errorf("mount plan %s: %d layers need %d bytes of overlayfs options, more than the kernel's %d", container, len(plan.Lower), n, maxMountData-1)
	}
	return plan, nil
}

func prepareWritable(upper, work string, ephemeral bool) error {
	if !ephemeral {
		// A layer last mounted volatile (the container was ephemeral
		// then) was never synced, and overlayfs refuses to mount its
		// work directory without the option again: it starts empty,
		// as it would have had the container stayed ephemeral.
		if _, err := os.Lstat(filepath.Join(work, "work", "incompat", "volatile")); err == nil {
			ephemeral = true
		}
	}
	for _, d := range []string{upper, work} {
		if ephemeral {
			if err := removeAll(d); err != nil {
				return err
			}
		}
		err := os.Mkdir(d, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		// The upper dir's mode is the mode of the container's "/": set
		// it exactly, whatever the caller's umask (the generated unit
		// runs the shim with UMask=0077).
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// recordContainerImage writes ROOT/containers/NAME/image when it changes,
// made durable unless the container is transient.
func (s *Store) recordContainerImage(container, id string, durable bool) error {
	p := s.path(dirContainers, container, "image")
	if old, err := readRecord(p); err == nil && strings.TrimSpace(string(old)) == id {
		return nil
	}
	write := writeFileAtomic
	if !durable {
		write = writeFileRenamed
	}
	if err := write(p, []byte(id+"\n"), 0o600); err != nil {
		return fmt.Errorf("mount plan %s: %w", container, err)
	}
	return nil
}

// ContainerImage returns the ID of the image the container's writable
// layer was last planned on; ErrNotFound if it has none.
func (s *Store) ContainerImage(container string) (string, error) {
	if err := checkContainerName(container); err != nil {
		return "", err
	}
	data, err := readRecord(s.path(dirContainers, container, "image"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("container %s: %w", container, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read container %s: %w", container, err)
	}
	return strings.TrimSpace(string(data)), nil
}

// ContainerUpper returns the container's writable layer directory.
func (s *Store) ContainerUpper(container string) (string, error) {
	if err := checkContainerName(container); err != nil {
		return "", err
	}
	return s.path(dirContainers, container, "upper"), nil
}

// Containers lists the names under ROOT/containers.
func (s *Store) Containers() ([]string, error) { return s.subdirs(dirContainers, "containers") }

// checkContainerName keeps a container name one safe path element.
func checkContainerName(name string) error {
	if name == "" || len(name) > 255 || name == "." || name == ".." {
		return fmt.Errorf("container name %q: want 1 to 255 characters of A-Z a-z 0-9 _ . @ -", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '_' && c != '.' && c != '@' && c != '-' {
			return fmt.Errorf("container name %q has %q (accepted: A-Z a-z 0-9 _ . @ -)", name, c)
		}
	}
	return nil
}

// RemoveContainer deletes a container's writable layer and record
// (ROOT/containers/NAME). A container that has none is not an error.
func (s *Store) RemoveContainer(container string) error {
	return s.removeContainer(container, false)
}

// DiscardContainer is RemoveContainer for "dockah run --rm" once its
// container has exited. A writable layer the container wrote nothing to
// is renamed into tmp/ instead, for SweepDiscarded to remove while the
// next container starts: its directories (the layer's, overlayfs's work
// directories) cost a run about a millisecond to remove on ext4, on the
// way to its exit. One the container wrote to is removed at once, so that
// its space is free when the command returns, and so is any once
// maxDiscarded wait in tmp/ (runs whose starts do not sweep, "dockah run
// -d --rm", would otherwise pile them up).
func (s *Store) DiscardContainer(container string) error {
	return s.removeContainer(container, true)
}

func (s *Store) removeContainer(container string, discard bool) error {
	if err := checkContainerName(container); err != nil {
		return err
	}
	lk, err := s.LockShared()
	if err != nil {
		return err
	}
	defer lk.Release()
	dir := s.path(dirContainers, container)
	if discard && isEmptyDir(filepath.Join(dir, "upper")) {
		if waiting, err := s.discardedLayers(); err == nil && len(waiting) < maxDiscarded && s.discard(dir, container) == nil {
			return nil
		}
	}
	if err := removeAll(dir); err != nil {
		return fmt.Errorf("remove container %s: %w", container, err)
	}
	return nil
}
