package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dockah/dockah/rootfs"
)

// pruneOptions are the flags of system prune.
type pruneOptions struct {
	all, volumes, force bool
	sysroot             string
}

// pruneReport is what system prune removed and the bytes it freed.
type pruneReport struct {
	Containers []string
	Layers     []string // layers no image used, before any image went
	Images     []string
	Volumes    []string
	Bytes      int64
}

// pruneWarning says what prune removes, before it asks.
func pruneWarning(opts *pruneOptions) string {
	images := "images without a name that nothing uses"
	if opts.all {
		images = "images that no definition and no container uses"
	}
	lines := []string{
		"the writable layers of containers that have no definition and do not run",
		images,
		"layers no image uses, and what killed commands left in the store",
	}
	if opts.volumes {
		lines = append(lines, "named volumes that no definition names and no running container has mounted")
	}
	return "WARNING! This command removes:\n\t- " + strings.Join(lines, "\n\t- ") + "\n"
}

// confirm asks a yes/no question on out and reads the answer from in; no
// answer (end of input) is no.
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s [y/N] ", question)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true
	}
	return false
}

// prune removes what nothing uses, in the order that frees the most:
// writable layers first (an image they were made on may then go), then
// the layers and leftovers no image needs, then images, then volumes.
// Each is checked again right before it goes; the store's Remove checks
// an image's users again under its exclusive lock.
func (u *storeUsers) prune(ctx context.Context, opts *pruneOptions, warn io.Writer) (pruneReport, error) {
	var rep pruneReport
	containers, err := u.containers(ctx)
	if err != nil {
		return rep, err
	}
	if err := u.pruneContainers(ctx, containers.Items, &rep); err != nil {
		return rep, err
	}
	layers, err := u.store.Prune()
	if err != nil {
		return rep, err
	}
	rep.Layers, rep.Bytes = layers.Layers, rep.Bytes+layers.Bytes
	if err := u.pruneImages(opts.all, &rep, warn); err != nil {
		return rep, err
	}
	if !opts.volumes {
		return rep, nil
	}
	if containers, err = u.containers(ctx); err != nil {
		return rep, err
	}
	volumes, err := u.volumes(ctx, containers.Items)
	if err != nil {
		return rep, err
	}
	for _, v := range volumes.Items {
		if len(v.UsedBy) > 0 {
			continue
		}
		if err := u.store.RemoveVolume(v.Name); err != nil {
			return rep, err
		}
		rep.Volumes = append(rep.Volumes, v.Name)
		rep.Bytes += v.Size
	}
	return rep, nil
}

// pruneContainers removes the writable layers that have no definition and
// whose unit does not run, asking systemd once more right before each.
func (u *storeUsers) pruneContainers(ctx context.Context, items []containerUsage, rep *pruneReport) error {
	for _, c := range items {
		if !c.Reclaimable {
			continue
		}
		state, err := u.units(ctx, containerUnit(u.fsys, c.Name))
		if err != nil {
			return err
		}
		if _, defined := definitionSource(u.fsys, c.Name); defined || state.running() {
			continue
		}
		if err := removeContainerState(u.store, c.Name, false); err != nil {
			return err
		}
		rep.Containers = append(rep.Containers, c.Name)
		rep.Bytes += c.Size
	}
	return nil
}

// pruneImages removes the images nothing uses: those without a name, or
// all with all. The bytes freed are those of the layers that went with
// them.
func (u *storeUsers) pruneImages(all bool, rep *pruneReport, warn io.Writer) error {
	images, err := u.images()
	if err != nil {
		return err
	}
	before, err := imageLayerSizes(u.store)
	if err != nil {
		return err
	}
	inUse := func(rm rootfs.Removal) ([]string, error) { return imageUsers(u.store, u.defs, rm) }
	for _, img := range images.Items {
		if img.active() || !(all || img.dangling()) {
			continue
		}
		_, err := u.store.Remove(img.ID, rootfs.RemoveOptions{InUse: inUse})
		if errors.Is(err, rootfs.ErrInUse) {
			fmt.Fprintf(warn, "dockah: kept image %s: taken into use since it was checked\n", imageID(img.ID, false))
			continue
		}
		if err != nil {
			return err
		}
		rep.Images = append(rep.Images, img.ID)
	}
	after, err := imageLayerSizes(u.store)
	if err != nil {
		return err
	}
	for diffID, size := range before {
		if _, kept := after[diffID]; !kept {
			rep.Bytes += size
		}
	}
	return nil
}

// imageLayerSizes maps the layers the images use to their sizes.
func imageLayerSizes(st *rootfs.Store) (map[string]int64, error) {
	list, err := st.List()
	if err != nil {
		return nil, err
	}
	sizes := map[string]int64{}
	for _, s := range list {
		for _, l := range s.Image.Layers {
			if _, ok := sizes[l.DiffID]; !ok {
				info, _ := st.LayerInfo(l.DiffID)
				sizes[l.DiffID] = info.Size
			}
		}
	}
	return sizes, nil
}

// printPruneReport lists what went, by kind, and the space freed, as
// podman's system prune.
func printPruneReport(w io.Writer, rep pruneReport) {
	for _, section := range []struct {
		title string
		items []string
	}{
		{"Deleted Containers", rep.Containers},
		{"Deleted Images", rep.Images},
		{"Deleted Layers", rep.Layers},
		{"Deleted Volumes", rep.Volumes},
	} {
		if len(section.items) == 0 {
			continue
		}
		fmt.Fprintln(w, section.title)
		for _, item := range section.items {
			fmt.Fprintln(w, item)
		}
	}
	fmt.Fprintf(w, "Total reclaimed space: %s\n", decimalSize(uint64(rep.Bytes)))
}
