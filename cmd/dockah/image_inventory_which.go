//go:build !lean

package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/inventory"
	"github.com/dockah/dockah/rootfs"
)

type whichOptions struct {
	format  outputFormat
	sysroot string
}

func newImageWhichCommand(opts *globalOptions) *cobra.Command {
	wo := &whichOptions{}
	cmd := &cobra.Command{
		Use:   "which NAME",
		Short: "Find every copy of a package, library or Go module in the images, and the containers using them",
		Long: `List every image and layer that carries NAME, with its version and how it was
found, and the containers that use each image: NAME is a binary or source
package (zlib1g, zlib), a library or product (zlib finds zlib1g, a vendored
libz.so and a static copy found by its version strings; libz the library
file) or a Go module path. Names compare without regard to case.

The CONTAINERS column names the containers whose definition names the image
("defined"), and those whose writable layer was made on it, with their
service's state ("running", "inactive"; "started on it" when systemd cannot
be asked). After an image is updated, a container that still runs the old
one shows under the old image as running and under the new one as defined.

Inventories come from the store's cache (see image packages); an image
never inventoried is read now, once. --format json prints one object per
copy.`,
		Example: `  dockah image which zlib
  dockah image which golang.org/x/net --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runWhich(c, opts, wo, args[0])
		},
	}
	addFormatFlag(cmd, &wo.format)
	addSysrootFlag(cmd, &wo.sysroot)
	return cmd
}

// copyFound is one entry of an image that carries the name asked for.
type copyFound struct {
	Image string   `json:"image"`
	Names []string `json:"names"`
	inventory.Package
	Containers []containerOfImage `json:"containers"`
}

// containerOfImage is a container that uses an image.
type containerOfImage struct {
	Name string `json:"name"`
	// Defined: the container's definition names the image.
	Defined bool `json:"defined"`
	// Started: its writable layer was made on the image, at its last start.
	Started bool `json:"started"`
	// State is its service's ActiveState, "" when systemd was not asked.
	State string `json:"state,omitempty"`
}

func (u containerOfImage) String() string {
	var parts []string
	if u.Defined {
		parts = append(parts, "defined")
	}
	if u.Started {
		switch {
		case u.State == "":
			parts = append(parts, "started on it")
		case containerStatus{State: u.State}.running():
			parts = append(parts, "running")
		default:
			parts = append(parts, u.State)
		}
	}
	return u.Name + " (" + strings.Join(parts, ", ") + ")"
}

func runWhich(c *cobra.Command, opts *globalOptions, wo *whichOptions, name string) error {
	st, err := openStore(opts)
	if err != nil {
		return err
	}
	list, err := st.List()
	if err != nil {
		return err
	}
	invs, err := inventories(st, list, c.ErrOrStderr())
	if err != nil {
		return err
	}
	pruneInventories(st, invs)
	users := imageUsersByID(c.Context(), st, os.DirFS(wo.sysroot), c.ErrOrStderr())
	var found []copyFound
	for i, s := range list {
		if invs[i] == nil {
			continue
		}
		for _, p := range invs[i].Packages {
			if !p.Matches(name) {
				continue
			}
			found = append(found, copyFound{Image: s.ID, Names: referenceStrings(s.Names), Package: p, Containers: nonNil(users[s.ID])})
		}
	}
	if wo.format == formatJSON {
		return writeJSONText(c.OutOrStdout(), nonNil(found))
	}
	if err := printWhich(c.OutOrStdout(), found); err != nil {
		return err
	}
	if !opts.quiet {
		fmt.Fprintln(c.ErrOrStderr(), whichSummary(name, found))
	}
	return nil
}

// nonNil is s, or an empty list for nil: JSON shows [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// inventories returns the inventory of each image of list (nil for one
// that could not be made, said on warn), reading the cache on as many
// goroutines as CPUs.
func inventories(st *rootfs.Store, list []rootfs.Summary, warn io.Writer) ([]*inventory.Inventory, error) {
	out := make([]*inventory.Inventory, len(list))
	errs := make([]error, len(list))
	opts := inventoryOptions()
	var wg sync.WaitGroup
	work := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i], _, errs[i] = inventory.Of(st, list[i].Image, opts)
			}
		}()
	}
	for i := range list {
		work <- i
	}
	close(work)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			fmt.Fprintf(warn, "dockah: %v\n", err)
		} else if !out[i].HasDatabase() {
			fmt.Fprintf(warn, "dockah: image %s has no package database that could be read: only what is outside packages is known\n", imageLabel(list[i]))
		}
	}
	return out, nil
}

// pruneInventories removes the cached inventories of layer chains no
// image has any more (after image rm and prune), when invs are those of
// every image. The cache is the store's: an entry pruned by mistake (an
// image imported meanwhile) is only computed again.
func pruneInventories(st *rootfs.Store, invs []*inventory.Inventory) {
	keep := map[string]bool{}
	for _, inv := range invs {
		if inv == nil {
			return // a chain not known: keep everything
		}
		keep[inv.ChainID] = true
	}
	_ = inventory.PruneCache(st, keep)
}

// imageLabel names an image by its first name, or its short ID.
func imageLabel(s rootfs.Summary) string {
	if len(s.Names) > 0 {
		return s.Names[0].String()
	}
	return shortDigest(s.ID)
}

// imageUsersByID finds, for each image ID, the containers that use it:
// the definitions below fsys (and containers of dockah run) that name
// it, and the containers whose writable layer was made on it, with
// their service's state when systemd answers.
func imageUsersByID(ctx context.Context, st *rootfs.Store, fsys fs.FS, warn io.Writer) map[string][]containerOfImage {
	byImage := map[string]map[string]*containerOfImage{}
	use := func(id, name string) *containerOfImage {
		if byImage[id] == nil {
			byImage[id] = map[string]*containerOfImage{}
		}
		if byImage[id][name] == nil {
			byImage[id][name] = &containerOfImage{Name: name}
		}
		return byImage[id][name]
	}
	services := map[string]string{} // container → its service
	for _, d := range loadForUseCheck(fsys, io.Discard) {
		if d.IsTemplate() {
			continue // its instances name their images when systemd loads them
		}
		services[d.Name] = d.ServiceUnit()
		if img, err := st.Resolve(d.Container.Image); err == nil {
			use(img.ID, d.Name).Defined = true
		}
	}
	names, _ := st.Containers()
	for _, name := range names {
		if id, err := st.ContainerImage(name); err == nil {
			use(id, name).Started = true
			if services[name] == "" {
				services[name] = name + ".service"
			}
		}
	}
	states := serviceStates(ctx, services, warn)
	out := map[string][]containerOfImage{}
	for id, m := range byImage {
		for _, u := range m {
			u.State = states[u.Name]
			out[id] = append(out[id], *u)
		}
		sort.Slice(out[id], func(i, j int) bool { return out[id][i].Name < out[id][j].Name })
	}
	return out
}

// serviceStates asks systemd for the ActiveState of each container's
// service; without systemd, nothing (said once on warn).
func serviceStates(ctx context.Context, services map[string]string, warn io.Writer) map[string]string {
	states := map[string]string{}
	if len(services) == 0 {
		return states
	}
	conn, err := sdbus.NewWithContext(ctx)
	if err != nil {
		fmt.Fprintf(warn, "dockah: cannot ask systemd which containers run (%v): containers are listed by their definitions and writable layers\n", err)
		return states
	}
	defer conn.Close()
	var units []string
	for _, s := range services {
		units = append(units, s)
	}
	list, err := conn.ListUnitsByNamesContext(ctx, units)
	if err != nil {
		fmt.Fprintf(warn, "dockah: ask systemd for the containers' state: %v\n", err)
		return states
	}
	byUnit := map[string]string{}
	for _, u := range list {
		byUnit[u.Name] = u.ActiveState
	}
	for name, s := range services {
		states[name] = byUnit[s]
	}
	return states
}

func printWhich(w io.Writer, found []copyFound) error {
	tw := newTable(w, "IMAGE", "TYPE", "NAME", "VERSION", "FOUND IN", "LAYER", "CONTAINERS")
	for _, f := range found {
		image := shortDigest(f.Image)
		if len(f.Names) > 0 {
			image = f.Names[0]
		}
		var users []string
		for _, u := range f.Containers {
			users = append(users, u.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", image, f.Type, f.Name, f.Version, foundColumn(f.Found), shortDigest(f.Found.Layer), orDash(strings.Join(users, ", ")))
	}
	return tw.Flush()
}

// whichSummary counts the copies: "4 copies of zlib in 3 images, used
// by 2 containers". A copy is a file of a layer: images sharing the
// layer share the copy.
func whichSummary(name string, found []copyFound) string {
	images, layers, containers := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, f := range found {
		images[f.Image] = true
		layers[f.Found.Layer+" "+f.Found.Path+" "+f.Name] = true
		for _, u := range f.Containers {
			containers[u.Name] = true
		}
	}
	if len(found) == 0 {
		return fmt.Sprintf("no image carries %s", name)
	}
	return fmt.Sprintf("%s of %s in %s, used by %s", plural(len(layers), "copy", "copies"), name,
		plural(len(images), "image", "images"), plural(len(containers), "container", "containers"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
