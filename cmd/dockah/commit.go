package main

import (
	"fmt"

	"github.com/dockah/dockah/rootfs/archive"
	"github.com/spf13/cobra"
)

func newCommitCommand(opts *globalOptions) *cobra.Command {
	var co archive.CommitOptions
	cmd := &cobra.Command{
		Use:   "commit CONTAINER NAME[:TAG]",
		Short: "Make an image of a container's image and its writable layer",
		Long: `Turn the writable layer of CONTAINER (ROOT/containers/CONTAINER/upper) into a
new layer on top of the image it runs, and name the new image NAME[:TAG].
Deleted files and replaced directories become OCI whiteouts. Stop the
container first: files changing while they are read are committed as found.`,
		Example: `  dockah stop web && dockah commit web web:patched
  dockah commit -m "add certificates" -a admin@example.com web web:2`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			prog := newProgress(c.ErrOrStderr(), opts.quiet)
			co.Progress = prog.event
			img, err := archive.Commit(st, args[0], args[1], co)
			prog.finish()
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), img.ID)
			return nil
		},
	}
	cmd.Flags().StringVarP(&co.Message, "message", "m", "", "comment for the history entry")
	cmd.Flags().StringVarP(&co.Author, "author", "a", "", "author of the new layer")
	return cmd
}
