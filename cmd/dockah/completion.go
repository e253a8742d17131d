package main

import (
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dockah/dockah/unitgen"
)

// Shell completion comes from cobra's own `dockah completion bash|zsh|fish|
// powershell`; these functions complete container names in it, from the
// definitions (no D-Bus: completion must be fast and work for any user).

// containerNames lists the defined containers and templates.
func containerNames() []string {
	defs, _ := unitgen.LoadAll(os.DirFS("/"))
	names := make([]string, 0, len(defs))
	for _, d := range defs {
		names = append(names, d.Name)
	}
	return names
}

// completeContainers completes every argument with a container name not
// given yet.
func completeContainers(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, n := range containerNames() {
		if strings.HasPrefix(n, toComplete) && !slices.Contains(args, n) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeFirstContainer completes the first argument with a container
// name and nothing after it (the rest is a command inside the container,
// where the host's files mean nothing).
func completeFirstContainer(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeContainers(c, args, toComplete)
}
