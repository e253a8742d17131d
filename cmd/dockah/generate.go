package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newGenerateCommand(_ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "generate",
		Short: "Print the units the generator would write",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("generate: %w", errNotImplemented)
		},
	}
}

func newValidateCommand(_ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check container definitions",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("validate: %w", errNotImplemented)
		},
	}
}
