package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newSpecCommand(_ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "spec NAME",
		Short: "Print the OCI runtime spec a container would run with",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("spec: %w", errNotImplemented)
		},
	}
}
