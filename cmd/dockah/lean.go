//go:build lean

package main

import (
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/rootfs"
)

// This is the lean build of the command (dispatch.go): the commands of
// the start path only. The others, and a dockah run whose image must be
// pulled, are the full build's.

const leanBuild = true

// fullCommands: none here.
func fullCommands(*globalOptions) []*cobra.Command { return nil }

// pullImageForRun hands the run to the full build, which has the
// registry client: the image is not in the store, or --pull says to ask
// the registry.
func pullImageForRun(*cobra.Command, *globalOptions, runOptions, *rootfs.Store, string) error {
	return errFullBuild
}
