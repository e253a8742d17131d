package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dockah/dockah/rootfs/archive"
	"github.com/spf13/cobra"
)

func newImageSaveCommand(opts *globalOptions) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "save IMAGE... -o FILE",
		Short: "Save images as an OCI layout or docker-archive tar",
		Long: `Save images to FILE as a tar: an OCI image layout (--format oci, the
default) or a docker-archive (--format docker-archive, what docker load
reads). Layers are written uncompressed with the digests they were imported
with, so importing FILE again gives the same image IDs.`,
		Example: `  dockah image save nginx:1.25 -o nginx-oci.tar
  dockah image save --format docker-archive web:stable -o web.tar && docker load < web.tar`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if output == "" {
				return fmt.Errorf("save: -o FILE is required")
			}
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			return writeFileAtomic(output, func(f *os.File) error {
				return archive.Save(st, args, f, archive.Format(format))
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write")
	cmd.Flags().StringVar(&format, "format", string(archive.FormatOCI), "oci or docker-archive")
	return cmd
}

// writeFileAtomic writes what fill produces to path through a temp file
// in the same directory, renamed into place only when complete.
func writeFileAtomic(path string, fill func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dockah-save-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
