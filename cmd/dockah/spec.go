package main

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"
)

func newSpecCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "spec NAME",
		Short: "Print the OCI runtime spec a container would run with",
		Long: `Print the OCI runtime spec (config.json) the activation shim builds for the
container NAME from its definition, its image and the security policy. The
same bundle can be run by crun or runc for comparison.`,
		Example: "  dockah spec web\n  dockah spec web@blue > bundle/config.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The shim owns the assembly; asking it keeps one code path
			// for what runs and what is printed.
			shim := exec.Command(shimPath, "--spec", args[0])
			shim.Env = append(os.Environ(), "DOCKAH_ROOT="+opts.storeRoot)
			shim.Stdout, shim.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := shim.Run(); err != nil {
				if exit, ok := err.(*exec.ExitError); ok {
					return exitStatusError{exit.ExitCode()}
				}
				return fmt.Errorf("run %s: %w", shimPath, err)
			}
			return nil
		},
	}
}
