//go:build !lean

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/rootfs/layer"
	"github.com/dockah/dockah/unitgen"
	"github.com/spf13/cobra"
)

// commitOptions are the flags of dockah commit.
type commitOptions struct {
	archive.CommitOptions
	// force commits a container that runs.
	force   bool
	sysroot string
}

func newCommitCommand(opts *globalOptions) *cobra.Command {
	co := &commitOptions{}
	cmd := &cobra.Command{
		Use:   "commit CONTAINER NAME[:TAG]",
		Short: "Make an image of a container's image and its writable layer",
		Long: `Turn the writable layer of CONTAINER (ROOT/containers/CONTAINER/upper) into a
new layer on top of the image it runs, and name the new image NAME[:TAG].
Deleted files and replaced directories become OCI whiteouts.

Stop the container first. dockah does not pause a container (docker
commit does): files changing while they are read would be committed as
found, half written. So commit refuses while CONTAINER.service is active,
activating, deactivating or reloading; --force commits all the same, with
a warning. A container with read_only = true has no writable layer, and
nothing to commit.`,
		Example: `  dockah stop web && dockah commit web web:patched
  dockah commit -m "add certificates" -a admin@example.com web web:2
  dockah commit --force web web:snapshot`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return runCommit(c, opts, co, args[0], args[1])
		},
	}
	cmd.Flags().StringVarP(&co.Message, "message", "m", "", "comment for the history entry")
	cmd.Flags().StringVarP(&co.Author, "author", "a", "", "author of the new layer")
	cmd.Flags().BoolVarP(&co.force, "force", "f", false, "commit even while the container runs")
	addSysrootFlag(cmd, &co.sysroot)
	return cmd
}

// runCommit commits container as ref, asking systemd first whether it
// runs, and prints the new image's ID.
func runCommit(c *cobra.Command, g *globalOptions, co *commitOptions, container, ref string) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	cm := &committer{store: st, fsys: os.DirFS(co.sysroot), force: co.force, quiet: g.quiet, errOut: c.ErrOrStderr()}
	conn, err := openSystemd(c.Context())
	switch {
	case err == nil:
		defer conn.Close()
		cm.state = systemdUnits(conn).state
	case !co.force:
		return fmt.Errorf("commit %s: cannot tell whether it runs (use --force to commit anyway): %w", container, err)
	}
	prog := newProgress(c.ErrOrStderr(), g.quiet)
	opts := co.CommitOptions
	opts.Progress = prog.event
	img, err := cm.commit(c.Context(), container, ref, opts)
	prog.finish()
	if err != nil {
		return err
	}
	fmt.Fprintln(c.OutOrStdout(), img.ID)
	return nil
}

// committer commits writable layers, checking with systemd first that
// the container does not run.
type committer struct {
	store *rootfs.Store
	fsys  fs.FS // the root the definitions are read below
	// state asks systemd about a unit; nil skips the check (a forced
	// commit where systemd cannot be asked).
	state func(ctx context.Context, unit string) (unitState, error)
	force bool
	quiet bool
	// errOut gets the warning of a forced commit.
	errOut io.Writer
}

// commit commits the writable layer of container as ref, refusing while
// the container runs unless forced, and says why a container without a
// writable layer has none.
func (cm *committer) commit(ctx context.Context, container, ref string, opts archive.CommitOptions) (*rootfs.Image, error) {
	if err := cm.checkStopped(ctx, container); err != nil {
		return nil, err
	}
	r, err := cm.store.ContainerIDRange(container)
	if err != nil {
		return nil, err
	}
	// A writable layer of a container with a user namespace holds its
	// range's IDs.
	opts.Shift = layer.IDShift{UID: r.UID, GID: r.GID, Size: r.Size}
	img, err := archive.Commit(cm.store, container, ref, opts)
	if errors.Is(err, archive.ErrNoWritableLayer) && cm.readOnly(container) {
		return nil, fmt.Errorf("container %s has no writable layer: it runs with read_only = true; nothing to commit", container)
	}
	return img, err
}

// checkStopped refuses a container whose service runs, or warns about it
// when forced. A template's service (web@.service) never runs.
func (cm *committer) checkStopped(ctx context.Context, container string) error {
	service := containerUnit(cm.fsys, container)
	if cm.state == nil || strings.HasSuffix(service, "@.service") {
		return nil
	}
	st, err := cm.state(ctx, service)
	if err != nil {
		return fmt.Errorf("commit %s: %w", container, err)
	}
	if !st.running() {
		return nil
	}
	if !cm.force {
		return fmt.Errorf("commit %s: %s is %s, and dockah does not pause it: files changing while read would be committed half written (stop it first, or use --force)", container, service, st.Active)
	}
	if !cm.quiet {
		fmt.Fprintf(cm.errOut, "dockah: warning: %s is %s: its files are committed as they are read, and dockah does not pause it; files it changes meanwhile may be committed half written\n", service, st.Active)
	}
	return nil
}

// readOnly reports whether the definition of container says read_only =
// true.
func (cm *committer) readOnly(container string) bool {
	def, err := unitgen.LoadUnit(cm.fsys, container)
	return err == nil && def.Container.ReadOnly
}
