//go:build !lean

package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/remote"
)

// pullImageForRun pulls the image of a dockah run from its registry.
func pullImageForRun(c *cobra.Command, g *globalOptions, o runOptions, st *rootfs.Store, image string) error {
	prog := newProgress(c.ErrOrStderr(), g.quiet)
	f := pullFlags{registryFlags: o.registry, policy: o.pull}
	po, err := f.pullOptions(prog.event)
	if err != nil {
		return fmt.Errorf("--pull: %w", err)
	}
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := remote.Pull(ctx, st, image, po)
	prog.finish()
	if err != nil {
		return err
	}
	if p.Fetched && !g.quiet {
		fmt.Fprintf(c.ErrOrStderr(), "pulled %s (%s)\n", p.Reference, p.Digest)
	}
	return nil
}
