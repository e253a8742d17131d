package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCommand writes the man pages, one per command, from the same
// help text `--help` prints. It is hidden: it is for packaging (the
// Makefile's man target), not for users.
func newManCommand(_ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write the man pages (dockah.1, dockah-ps.1, ...) into DIR",
		Hidden: true,
		Example: `  dockah man man/
  man -l man/dockah-exec.1`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root := c.Root()
			root.DisableAutoGenTag = true // pages that do not change with the date
			header := &doc.GenManHeader{Title: "DOCKAH", Section: "1", Source: "dockah " + version, Manual: "dockah manual"}
			if err := doc.GenManTree(root, header, args[0]); err != nil {
				return fmt.Errorf("write man pages into %s: %w", args[0], err)
			}
			return nil
		},
	}
}
