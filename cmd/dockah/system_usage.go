package main

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

// diskUsage is what the store holds and what of it is in use: dockah
// system df shows it, dockah system prune removes its reclaimable part.
type diskUsage struct {
	Images     imagesUsage     `json:"images"`
	Containers containersUsage `json:"containers"`
	Volumes    volumesUsage    `json:"volumes"`
}

// usageSummary is one line of system df. Sizes are bytes of file content.
type usageSummary struct {
	Total  int `json:"total"`
	Active int `json:"active"`
	// Size is the bytes stored, each shared layer once.
	Size int64 `json:"size"`
	// Reclaimable is what removing all that is not active would free.
	Reclaimable int64 `json:"reclaimable"`
}

type imagesUsage struct {
	usageSummary
	Items []imageUsage `json:"items"`
}

type containersUsage struct {
	usageSummary
	Items []containerUsage `json:"items"`
}

type volumesUsage struct {
	usageSummary
	Items []volumeUsage `json:"items"`
}

// imageUsage is one image: its size, the part shared with other images,
// and who uses it ("definition web", "container old-web").
type imageUsage struct {
	ID         string     `json:"id"`
	Names      []string   `json:"names"`
	Created    *time.Time `json:"created"`
	Size       int64      `json:"size"`
	SharedSize int64      `json:"sharedSize"`
	UniqueSize int64      `json:"uniqueSize"`
	UsedBy     []string   `json:"usedBy"`
}

// containerUsage is one writable layer, ROOT/containers/NAME.
type containerUsage struct {
	Name string `json:"name"`
	// Image is the ID of the image it was made on, "" if not recorded.
	Image string `json:"image"`
	Size  int64  `json:"size"`
	// State is the ActiveState of NAME.service, "-" for a unit systemd
	// does not have.
	State string `json:"state"`
	// Definition is the file that defines the container, "" for none (a
	// deleted definition, a dockah run).
	Definition string `json:"definition"`
	// Reclaimable is true when it has no definition and does not run:
	// system prune removes it.
	Reclaimable bool `json:"reclaimable"`
}

// volumeUsage is one named volume, ROOT/volumes/NAME.
type volumeUsage struct {
	Name   string   `json:"name"`
	Size   int64    `json:"size"`
	UsedBy []string `json:"usedBy"`
}

// active reports whether the image is used.
func (i imageUsage) active() bool { return len(i.UsedBy) > 0 }

// dangling reports whether the image has no name (only digests, or
// nothing): what system prune removes without -a when nothing uses it.
func (i imageUsage) dangling() bool { return len(i.Names) == 0 }

// storeUsers tells what uses the store's content: the definitions, and
// the state of the containers' units. Tests give their own units.
type storeUsers struct {
	store *rootfs.Store
	fsys  fs.FS // the root the definitions are read below
	defs  []*unitgen.Definition
	units func(ctx context.Context, unit string) (unitState, error)
	// mainPID is the main process of a running unit, 0 if none.
	mainPID func(ctx context.Context, unit string) (uint32, error)
}

// measure reads the store and what uses it.
func (u *storeUsers) measure(ctx context.Context) (*diskUsage, error) {
	du := &diskUsage{}
	var err error
	if du.Containers, err = u.containers(ctx); err != nil {
		return nil, err
	}
	if du.Images, err = u.images(); err != nil {
		return nil, err
	}
	if du.Volumes, err = u.volumes(ctx, du.Containers.Items); err != nil {
		return nil, err
	}
	return du, nil
}

// containers measures the writable layers.
func (u *storeUsers) containers(ctx context.Context) (containersUsage, error) {
	out := containersUsage{Items: []containerUsage{}}
	names, err := u.store.Containers()
	if err != nil {
		return out, err
	}
	for _, name := range names {
		c := containerUsage{Name: name, State: "-"}
		c.Image, _ = u.store.ContainerImage(name)
		if c.Size, err = u.store.ContainerSize(name); err != nil {
			return out, err
		}
		state, err := u.units(ctx, containerUnit(u.fsys, name))
		if err != nil {
			return out, err
		}
		if state.known() {
			c.State = state.Active
		}
		if source, ok := definitionSource(u.fsys, name); ok {
			c.Definition = source
		}
		c.Reclaimable = c.Definition == "" && !state.running()
		out.add(c.Size, state.running(), c.Reclaimable)
		out.Items = append(out.Items, c)
	}
	return out, nil
}

// images measures the images and finds who uses each, as image rm
// checks it: the definitions, and the writable layers made on it.
func (u *storeUsers) images() (imagesUsage, error) {
	out := imagesUsage{Items: []imageUsage{}}
	list, err := u.store.List()
	if err != nil {
		return out, err
	}
	layerSize := map[string]int64{}
	layerUsers := map[string][]int{} // diff ID: indexes into out.Items
	for i, s := range list {
		img := imageUsage{ID: s.ID, Names: referenceStrings(s.Names), Created: s.Image.Config.Created, Size: s.Size, SharedSize: s.SharedSize}
		img.UniqueSize = s.Size - s.SharedSize
		img.UsedBy, err = imageUsers(u.store, u.defs, rootfs.Removal{ID: s.ID, Names: slices.Concat(s.Names, s.Digests), DeletesImage: true})
		if err != nil {
			return out, err
		}
		if img.UsedBy == nil {
			img.UsedBy = []string{}
		}
		for _, l := range s.Image.Layers {
			if !slices.Contains(layerUsers[l.DiffID], i) {
				layerUsers[l.DiffID] = append(layerUsers[l.DiffID], i)
			}
			if _, ok := layerSize[l.DiffID]; !ok {
				info, _ := u.store.LayerInfo(l.DiffID)
				layerSize[l.DiffID] = info.Size
			}
		}
		out.Total++
		if img.active() {
			out.Active++
		}
		out.Items = append(out.Items, img)
	}
	for diffID, users := range layerUsers {
		out.Size += layerSize[diffID]
		if !slices.ContainsFunc(users, func(i int) bool { return out.Items[i].active() }) {
			out.Reclaimable += layerSize[diffID]
		}
	}
	return out, nil
}

// volumes measures the named volumes and finds who uses each: the
// definitions that name it, and running containers that have it mounted
// though no definition names it any longer.
func (u *storeUsers) volumes(ctx context.Context, containers []containerUsage) (volumesUsage, error) {
	out := volumesUsage{Items: []volumeUsage{}}
	names, err := u.store.Volumes()
	if err != nil {
		return out, err
	}
	mounted, err := u.mountedVolumes(ctx, containers, names)
	if err != nil {
		return out, err
	}
	for _, name := range names {
		v := volumeUsage{Name: name, UsedBy: volumeUsers(u.defs, name)}
		for _, c := range mounted[name] {
			v.UsedBy = append(v.UsedBy, "container "+c)
		}
		if v.Size, err = u.store.VolumeSize(name); err != nil {
			return out, err
		}
		out.add(v.Size, len(v.UsedBy) > 0, len(v.UsedBy) == 0)
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// add counts one item in the summary.
func (s *usageSummary) add(size int64, active, reclaimable bool) {
	s.Total++
	s.Size += size
	if active {
		s.Active++
	}
	if reclaimable {
		s.Reclaimable += size
	}
}

// volumeUsers names the definitions that mount the named volume.
func volumeUsers(defs []*unitgen.Definition, name string) []string {
	users := []string{}
	for _, d := range defs {
		if slices.ContainsFunc(d.Volumes, func(v unitgen.Volume) bool { return v.IsNamed() && v.Source == name }) {
			users = append(users, "definition "+d.Name)
		}
	}
	return users
}

// mountedVolumes maps volume names to the running containers without a
// definition that have them mounted, read from the mount table of each
// one's main process.
func (u *storeUsers) mountedVolumes(ctx context.Context, containers []containerUsage, volumes []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, c := range containers {
		if c.Definition != "" || c.Reclaimable {
			continue
		}
		pid, err := u.mainPID(ctx, containerUnit(u.fsys, c.Name))
		if err != nil {
			return nil, err
		}
		if pid == 0 {
			continue // stopped meanwhile
		}
		roots, err := activation.MountRoots(int(pid))
		if err != nil {
			continue // gone meanwhile
		}
		for _, v := range mountedNames(roots, volumes) {
			out[v] = append(out[v], c.Name)
		}
	}
	return out, nil
}

// mountedNames returns those of volumes that are mounted from roots (the
// directories mounts were made of, activation.MountRoots): a root that
// ends in /volumes/NAME/_data, or is /NAME/_data for a store whose
// volumes directory is a file system of its own. Erring on the side of
// "in use" is safe: it only keeps a volume.
func mountedNames(roots, volumes []string) []string {
	var out []string
	for _, v := range volumes {
		data := "/" + v + "/_data"
		if slices.ContainsFunc(roots, func(r string) bool { return r == data || strings.HasSuffix(r, "/volumes"+data) }) {
			out = append(out, v)
		}
	}
	return out
}

// describeUsers is who uses something, for a column: "-" for nobody.
func describeUsers(users []string) string {
	if len(users) == 0 {
		return "-"
	}
	return strings.Join(users, ", ")
}
