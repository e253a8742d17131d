package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newImageCommand(_ *globalOptions) *cobra.Command {
	image := &cobra.Command{
		Use:   "image",
		Short: "Import, list, inspect, save and remove images",
	}
	image.AddCommand(&cobra.Command{
		Use:   "import SOURCE",
		Short: "Import a docker-archive, OCI layout or root filesystem tar",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("image import: %w", errNotImplemented)
		},
	})
	return image
}
