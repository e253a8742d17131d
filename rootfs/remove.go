package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Removal says what a Remove deletes.
type Removal struct {
	// ID is the image concerned.
	ID string
	// Names are the references removed.
	Names []Reference
	// DeletesImage is true when no name is left and the image record and
	// the layers no other image uses go too.
	DeletesImage bool
}

// RemoveOptions tune Remove.
type RemoveOptions struct {
	// Force removes even what InUse reports as used.
	Force bool
	// InUse returns who uses what the removal deletes (for example
	// "definition web"). rootfs knows no definitions; the caller does.
	InUse func(Removal) ([]string, error)
}

// Remove deletes a name, or an image and all its names when ref is an
// image ID, or the image too when its last name goes. Layers no other
// image uses are deleted with the image. A used image is refused with
// ErrInUse unless forced.
func (s *Store) Remove(ref string, opts RemoveOptions) (Removal, error) {
	var trash trash
	defer func() { trash.empty() }() // the slice as filled, not as it is now
	lk, err := s.LockExclusive()
	if err != nil {
		return Removal{}, err
	}
	defer lk.Release() // runs before trash.empty: deleting trees needs no lock
	rm, err := s.planRemoval(ref)
	if err != nil {
		return Removal{}, err
	}
	if opts.InUse != nil {
		users, err := opts.InUse(rm)
		if err != nil {
			return Removal{}, fmt.Errorf("remove %s: %w", ref, err)
		}
		if len(users) > 0 && !opts.Force {
			return Removal{}, fmt.Errorf("remove %s: %w by %s (use --force to remove anyway)", ref, ErrInUse, strings.Join(users, ", "))
		}
	}
	for _, n := range rm.Names {
		if err := os.Remove(s.path(dirRefs, n.fileName())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Removal{}, fmt.Errorf("remove %s: %w", n, err)
		}
	}
	if err := syncDir(s.path(dirRefs)); err != nil {
		return Removal{}, err
	}
	// dockah-pull@ stamps say "the image is here"; the next start checks
	// again.
	if err := removeAll(s.path(dirPresent)); err != nil {
		return Removal{}, err
	}
	if !rm.DeletesImage {
		return rm, nil
	}
	if err := os.Remove(s.path(dirImages, rm.ID[len("sha256:"):]+".json")); err != nil {
		return Removal{}, fmt.Errorf("remove image %s: %w", rm.ID, err)
	}
	if err := syncDir(s.path(dirImages)); err != nil {
		return Removal{}, err
	}
	_, err = s.collectLayers(&trash)
	return rm, err
}

func (s *Store) planRemoval(ref string) (Removal, error) {
	names, err := s.names()
	if err != nil {
		return Removal{}, err
	}
	if r, id, err := s.lookupName(ref); err == nil && r.Digest == "" {
		tags := 0
		for _, n := range names[id] {
			if n.Digest == "" || n.Tag != "" {
				tags++
			}
		}
		if tags > 1 {
			return Removal{ID: id, Names: []Reference{r}}, nil
		}
	}
	img, err := s.Resolve(ref)
	if err != nil {
		return Removal{}, err
	}
	return Removal{ID: img.ID, Names: names[img.ID], DeletesImage: true}, nil
}

// PruneReport says what Prune deleted.
type PruneReport struct {
	Layers []string
	Bytes  int64
}

// Prune deletes layers that no image uses, the leftovers of killed
// commands, the writable layers RemoveContainer discarded and the partial
// blobs of interrupted pulls.
func (s *Store) Prune() (PruneReport, error) {
	var trash trash
	defer func() { trash.empty() }() // the slice as filled, not as it is now
	lk, err := s.LockExclusive()
	if err != nil {
		return PruneReport{}, err
	}
	defer lk.Release() // runs before trash.empty: deleting trees needs no lock
	if err := s.CleanTemp(); err != nil {
		return PruneReport{}, err
	}
	rep, err := s.collectLayers(&trash)
	if err != nil {
		return rep, err
	}
	// Nobody holds a layer lock, or writes a partial blob, while the
	// store is locked exclusively.
	if err := removeAll(s.path(dirLayerLocks)); err != nil {
		return rep, err
	}
	if err := removeAll(s.path(dirPartial)); err != nil {
		return rep, err
	}
	if err := removeAll(s.path(dirPresent)); err != nil {
		return rep, err
	}
	return rep, nil
}

// collectLayers deletes the layers no image record names, and links that
// lead nowhere. The caller holds the store lock exclusively.
func (s *Store) collectLayers(trash *trash) (PruneReport, error) {
	used := map[string]bool{}
	ids, err := s.imageIDs()
	if err != nil {
		return PruneReport{}, err
	}
	for _, id := range ids {
		img, err := s.image(id)
		if err != nil {
			return PruneReport{}, err
		}
		for _, l := range img.Layers {
			used[l.DiffID] = true
		}
	}
	entries, err := os.ReadDir(s.path(dirLayers))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return PruneReport{}, fmt.Errorf("list layers: %w", err)
	}
	var rep PruneReport
	for _, e := range entries {
		diffID := "sha256:" + e.Name()
		if used[diffID] {
			continue
		}
		info, _ := s.LayerInfo(diffID)
		if err := s.deleteLayer(e.Name(), trash); err != nil {
			return rep, err
		}
		rep.Layers = append(rep.Layers, diffID)
		rep.Bytes += info.Size
	}
	return rep, s.removeDanglingLinks()
}

// deleteLayer moves the layer out of sight with one rename into a work
// directory, deleted once the store lock is released; a crash in between
// leaves a leftover under tmp/ rather than a half layer.
func (s *Store) deleteLayer(hex string, trash *trash) error {
	tmp, err := s.TempDir()
	if err != nil {
		return err
	}
	*trash = append(*trash, tmp)
	if err := os.Rename(s.path(dirLayers, hex), tmp.Path+"/layer"); err != nil {
		return fmt.Errorf("remove layer sha256:%s: %w", hex, err)
	}
	return syncDir(s.path(dirLayers))
}

// trash holds work directories to delete after the lock is released.
type trash []*TempDir

func (t trash) empty() {
	for _, d := range t {
		d.Remove()
	}
}

func (s *Store) removeDanglingLinks() error {
	entries, err := os.ReadDir(s.path(dirLinks))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list layer links: %w", err)
	}
	for _, e := range entries {
		p := s.path(dirLinks, e.Name())
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("remove layer link: %w", err)
			}
		}
	}
	return nil
}
