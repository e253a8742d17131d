package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

type rmOptions struct {
	force   bool
	sysroot string
}

func newRmCommand(g *globalOptions) *cobra.Command {
	opts := &rmOptions{}
	cmd := &cobra.Command{
		Use:   "rm [-f] NAME...",
		Short: "Remove the writable layer of containers",
		Long: `Remove the writable layer of each container (ROOT/containers/NAME in the
image store): what a container wrote outside its volumes, and the record
that keeps its image from dockah image rm. It is refused while NAME.service
is active, activating, deactivating or reloading; -f stops it first.

A container whose definition is gone (or one of dockah run) then leaves
nothing behind. A defined container keeps its definition and starts afresh
from its image next time. A name with neither a writable layer nor a unit
systemd knows is an error.`,
		Example: `  dockah rm old-web
  dockah rm -f run-3fa9c2d1
  dockah rm -f web`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeWritableLayers(g),
		RunE: func(c *cobra.Command, names []string) error {
			return runRm(c, g, opts, names)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "stop a container that runs, then remove it")
	addSysrootFlag(cmd, &opts.sysroot)
	return cmd
}

func runRm(c *cobra.Command, g *globalOptions, opts *rmOptions, names []string) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	ctx := c.Context()
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := &containerRemover{
		store: st, fsys: os.DirFS(opts.sysroot), units: systemdUnits(conn),
		force: opts.force, quiet: g.quiet, out: c.OutOrStdout(), errOut: c.ErrOrStderr(),
	}
	var errs []error
	for _, name := range names {
		if err := r.remove(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	return summarize(c.ErrOrStderr(), "rm", len(names), errs)
}

// unitState is what systemd says of a unit: its LoadState ("loaded",
// "not-found"...) and ActiveState ("active", "inactive"...).
type unitState struct {
	Load, Active string
}

// known reports whether systemd has the unit: loaded from a file, or
// still running after its file went.
func (u unitState) known() bool {
	return (u.Load != "" && u.Load != "not-found") || (u.Active != "" && u.Active != "inactive")
}

// running reports whether the unit has processes, as ps counts them.
func (u unitState) running() bool { return containerStatus{State: u.Active}.running() }

// unitControl is the part of systemd that rm needs: the state of a unit,
// and a stop job waited for. Tests give their own.
type unitControl struct {
	state func(ctx context.Context, unit string) (unitState, error)
	stop  func(ctx context.Context, unit string) error
}

// systemdUnits asks systemd over D-Bus.
func systemdUnits(conn *sdbus.Conn) unitControl {
	return unitControl{
		state: func(ctx context.Context, unit string) (unitState, error) {
			list, err := conn.ListUnitsByNamesContext(ctx, []string{unit})
			if err != nil {
				return unitState{}, fmt.Errorf("ask systemd about %s: %w", unit, err)
			}
			for _, u := range list {
				if u.Name == unit {
					return unitState{Load: u.LoadState, Active: u.ActiveState}, nil
				}
			}
			return unitState{}, nil
		},
		stop: func(ctx context.Context, unit string) error {
			return runJob(ctx, conn, "stop", unit, true)
		},
	}
}

// containerRemover removes writable layers.
type containerRemover struct {
	store *rootfs.Store
	fsys  fs.FS // the root the definitions are read below
	units unitControl
	force bool
	quiet bool
	// out gets the name of each container removed, errOut the notes.
	out, errOut io.Writer
}

// remove removes the writable layer of the container name, after stopping
// its service when forced.
func (r *containerRemover) remove(ctx context.Context, name string) error {
	dir, err := r.layerDir(name)
	if err != nil {
		return err
	}
	hasLayer, err := pathExists(dir)
	if err != nil {
		return fmt.Errorf("remove container %s: %w", name, err)
	}
	service := containerUnit(r.fsys, name)
	state, err := r.serviceState(ctx, service)
	if err != nil {
		return err
	}
	source, defined := definitionSource(r.fsys, name)
	isRun := runContainerNamed(r.fsys, name) != nil
	if !hasLayer && !state.known() && !defined && !isRun {
		return fmt.Errorf("no such container %s: no writable layer, no definition, no %s", name, service)
	}
	if state.running() {
		if !r.force {
			return fmt.Errorf("remove container %s: %s is %s (stop it first, or use -f)", name, service, state.Active)
		}
		if err := r.units.stop(ctx, service); err != nil {
			return err
		}
	}
	if isRun {
		// A container of dockah run goes whole: definition, how it
		// ended, writable layer.
		if err := removeRunContainer(r.store, name, false); err != nil {
			return fmt.Errorf("remove container %s: %w", name, err)
		}
		fmt.Fprintln(r.out, name)
		return nil
	}
	if !hasLayer {
		r.note("dockah: %s has no writable layer to remove\n", name)
		return nil
	}
	if err := removeContainerState(r.store, name, false); err != nil {
		return err
	}
	fmt.Fprintln(r.out, name)
	if defined {
		r.note("dockah: %s: removed only the writable layer; the definition %s stays and the next start begins from the image\n", name, source)
	}
	return nil
}

// serviceState asks systemd about a container's service; a template's
// (web@.service) never runs, and systemd refuses to load one by name.
func (r *containerRemover) serviceState(ctx context.Context, service string) (unitState, error) {
	if strings.HasSuffix(service, "@.service") {
		return unitState{}, nil
	}
	return r.units.state(ctx, service)
}

// layerDir is ROOT/containers/NAME, the directory of the container's
// writable layer; the store refuses a name that is not one path element.
func (r *containerRemover) layerDir(name string) (string, error) {
	upper, err := r.store.ContainerUpper(name)
	if err != nil {
		return "", err
	}
	return filepath.Dir(upper), nil
}

// note writes a line for people, unless --quiet.
func (r *containerRemover) note(format string, args ...any) {
	if !r.quiet {
		fmt.Fprintf(r.errOut, format, args...)
	}
}

// pathExists reports whether p exists.
func pathExists(p string) (bool, error) {
	_, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// definitionSource returns the main file of name's definition (an
// instance's template included, or the definition of a container of
// dockah run) and whether there is one. A definition with problems is a
// definition; a masked one is not.
func definitionSource(fsys fs.FS, name string) (string, bool) {
	def, err := unitgen.LoadUnit(fsys, name)
	if err == nil {
		return def.SourcePath, true
	}
	if diags := unitgen.Diagnostics(err); len(diags) > 0 {
		return diags[0].File, true
	}
	if run := runContainerNamed(fsys, name); run != nil {
		return run.SourcePath, true
	}
	return "", false
}

// completeWritableLayers completes the names of the containers that have a
// writable layer in the store.
func completeWritableLayers(g *globalOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		st, err := openStore(g)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, _ := st.Containers()
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) && !slices.Contains(args, n) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// removeContainerState removes the container's writable layer and frees
// its user namespace range: the layer was the one thing on disk that
// held the range's IDs (images and named volumes keep their own, mounted
// idmapped), so the next start may take any free range. With discard,
// an empty writable layer is left for the next start to remove
// (rootfs.DiscardContainer).
func removeContainerState(st *rootfs.Store, name string, discard bool) error {
	remove := st.RemoveContainer
	if discard {
		remove = st.DiscardContainer
	}
	if err := remove(name); err != nil {
		return err
	}
	reg, err := launch.UserNSRegistry(st.Root())
	if err != nil {
		return err
	}
	return reg.Release(name)
}
