package main

import (
	"context"
	"fmt"
	"os"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"
)

func newSystemCommand(opts *globalOptions) *cobra.Command {
	system := &cobra.Command{
		Use:   "system COMMAND",
		Short: "Show and reclaim the disk space of the image store; record the pool of containers' IDs",
		Example: `  dockah system df
  dockah system prune
  dockah system subids`,
	}
	system.AddCommand(newSystemDfCommand(opts), newSystemPruneCommand(opts), newSystemSubidsCommand())
	requireSubcommand(system)
	return system
}

type dfOptions struct {
	verbose bool
	format  rowFormat[dfRow]
	sysroot string
}

func newSystemDfCommand(g *globalOptions) *cobra.Command {
	opts := &dfOptions{format: newDfFormat()}
	cmd := &cobra.Command{
		Use:   "df [-v] [--format json|TEMPLATE]",
		Short: "Show the disk space images, writable layers and volumes use",
		Long: `Show what the image store (--root) holds, a line per kind:

  Images         TOTAL images; ACTIVE those a definition or a writable
                 layer uses (as dockah image rm checks it); SIZE their
                 layers, each shared layer once; RECLAIMABLE the layers
                 only unused images have
  Containers     writable layers (ROOT/containers/NAME); ACTIVE those whose
                 NAME.service runs; RECLAIMABLE those with no definition
                 and no running unit (dockah system prune removes them)
  Local Volumes  named volumes (ROOT/volumes/NAME); ACTIVE those a
                 definition names or a running container has mounted;
                 RECLAIMABLE the others (system prune --volumes)

Sizes are bytes of file content, in podman's units (kB, MB: powers of
1000). Every definition counts as the generator loads it, drop-ins and
template instances included.

-v lists each image, writable layer and volume with who uses it.
--format json prints all of it (sizes in bytes); --format also takes a Go
template run on each line, with podman's fields Type, Total, Active,
Size, Reclaimable (and RawSize, RawReclaimable in bytes); "table
TEMPLATE" adds headers.`,
		Example: `  dockah system df
  dockah system df -v
  dockah system df --format json | jq '.images.reclaimable'
  dockah system df --format '{{.Type}}\t{{.Reclaimable}}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.verbose && opts.format.isTemplate() {
				return fmt.Errorf("-v and a --format template do not go together (use --format json for the details)")
			}
			return withStoreUsers(c.Context(), g, opts.sysroot, c, func(u *storeUsers) error {
				du, err := u.measure(c.Context())
				if err != nil {
					return err
				}
				w := c.OutOrStdout()
				switch {
				case opts.format.isTemplate():
					return opts.format.execute(w, du.rows())
				case opts.format.name == formatJSON:
					return writeJSON(w, du)
				case opts.verbose:
					return printDfVerbose(w, du)
				}
				return printDf(w, du)
			})
		},
	}
	cmd.Flags().BoolVarP(&opts.verbose, "verbose", "v", false, "list each image, writable layer and volume")
	cmd.Flags().Var(&opts.format, "format", "output as a `table`, as json, or through a Go template")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{formatTable, formatJSON}, cobra.ShellCompDirectiveNoFileComp))
	addSysrootFlag(cmd, &opts.sysroot)
	return cmd
}

func newSystemPruneCommand(g *globalOptions) *cobra.Command {
	opts := &pruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune [-a] [--volumes] [-f]",
		Short: "Remove unused images, writable layers of undefined containers and, with --volumes, unused volumes",
		Long: `Remove from the image store (--root) what nothing uses, after asking
(unless -f):

  - the writable layers of containers that have no definition (a deleted
    definition's, a dockah run's) and whose NAME.service does not run;
  - images nothing uses that have no name (dangling), or with -a every
    image no definition and no writable layer uses (as dockah image rm
    checks it: drop-ins, templates and their instances included);
  - layers no image uses, and what killed commands left (dockah image prune);
  - with --volumes, named volumes that no definition names and no running
    container has mounted.

Definitions that do not load are reported and left out of the checks;
fix them first if they name images or volumes. Each item is checked again
right before it goes, and images under the store's exclusive lock, as
image rm does. What went is listed by kind, then the space reclaimed.`,
		Example: `  dockah system prune
  dockah system prune -a --volumes -f`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !opts.force {
				fmt.Fprint(c.ErrOrStderr(), pruneWarning(opts)+"\n")
				if !confirm(c.InOrStdin(), c.ErrOrStderr(), "Are you sure you want to continue?") {
					return fmt.Errorf("system prune: not confirmed (answer y, or use -f)")
				}
			}
			return withStoreUsers(c.Context(), g, opts.sysroot, c, func(u *storeUsers) error {
				rep, err := u.prune(c.Context(), opts, c.ErrOrStderr())
				printPruneReport(c.OutOrStdout(), rep)
				return err
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.all, "all", "a", false, "remove every unused image, not only those without a name")
	fl.BoolVar(&opts.volumes, "volumes", false, "remove unused named volumes too")
	fl.BoolVarP(&opts.force, "force", "f", false, "do not ask for confirmation")
	addSysrootFlag(cmd, &opts.sysroot)
	return cmd
}

// withStoreUsers opens the store and systemd, loads the definitions below
// sysroot (reporting those that do not load) and runs fn.
func withStoreUsers(ctx context.Context, g *globalOptions, sysroot string, c *cobra.Command, fn func(*storeUsers) error) error {
	st, err := openStore(g)
	if err != nil {
		return err
	}
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	fsys := os.DirFS(sysroot)
	units := systemdUnits(conn)
	return fn(&storeUsers{
		store: st, fsys: fsys, defs: loadForUseCheck(fsys, c.ErrOrStderr()),
		units:   units.state,
		mainPID: func(ctx context.Context, unit string) (uint32, error) { return unitMainPID(ctx, conn, unit) },
	})
}

// unitMainPID is the MainPID of a service, 0 when it has none.
func unitMainPID(ctx context.Context, conn *sdbus.Conn, unit string) (uint32, error) {
	props, err := unitTypeProperties(ctx, conn, unit)
	if err != nil {
		return 0, fmt.Errorf("ask systemd about %s: %w", unit, err)
	}
	pid, _ := props["MainPID"].(uint32)
	return pid, nil
}
