//go:build !lean

package main

import "github.com/spf13/cobra"

// fullCommands are the commands only the full build has (lean.go): they
// link the registry client, the image formats, the build, the inventory,
// Kubernetes YAML, the C of dockah exec's trampoline, or (network) more
// of systemd's libraries than the start path needs.
func fullCommands(opts *globalOptions) []*cobra.Command {
	return []*cobra.Command{
		newImageCommand(opts),
		newExecCommand(opts),
		newPullCommand(opts),
		newPushCommand(opts),
		newLoginCommand(opts),
		newLogoutCommand(opts),
		newCommitCommand(opts),
		newBuildCommand(opts),
		newKubeCommand(opts),
		newAutoUpdateCommand(opts),
		newNetworkCommand(opts),
		newManCommand(opts),
	}
}

// leanBuild tells the builds apart (dispatch.go): this is the full one.
const leanBuild = false
