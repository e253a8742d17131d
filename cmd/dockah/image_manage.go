package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/BurntSushi/toml"
	"github.com/dockah/dockah/rootfs"
	"github.com/spf13/cobra"
)

func newImageTagCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tag IMAGE NAME[:TAG]",
		Short: "Give an image another name",
		Example: `  dockah image tag nginx:1.25 web:stable
  dockah image tag sha256:3f57d9401f8d web:rollback`,
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			return st.Tag(args[0], args[1])
		},
	}
}

func newImageRemoveCommand(opts *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm IMAGE...",
		Aliases: []string{"remove"},
		Short:   "Remove names, and images with their last name or when named by ID",
		Long: `Remove a name; when it is the image's last name, or IMAGE is an image ID, the
image goes too, with the layers no other image uses. An image a container
definition or a container's writable layer uses is kept unless --force.`,
		Example: `  dockah image rm web:rollback
  dockah image rm --force nginx:1.25`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			ro := rootfs.RemoveOptions{Force: force, InUse: inUseChecker(st, definitionDirs)}
			for _, ref := range args {
				rm, err := st.Remove(ref, ro)
				if err != nil {
					return err
				}
				for _, n := range rm.Names {
					fmt.Fprintln(c.OutOrStdout(), "untagged", n)
				}
				if rm.DeletesImage {
					fmt.Fprintln(c.OutOrStdout(), "deleted", rm.ID)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove even an image in use")
	return cmd
}

func newImagePruneCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "prune",
		Short: "Delete layers no image uses and what killed commands left behind",
		Example: `  dockah image prune
  dockah -q image prune`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			rep, err := st.Prune()
			if err != nil {
				return err
			}
			for _, l := range rep.Layers {
				fmt.Fprintln(c.OutOrStdout(), "deleted", l)
			}
			if !opts.quiet {
				fmt.Fprintf(c.ErrOrStderr(), "%d layers, %s freed\n", len(rep.Layers), humanSize(rep.Bytes))
			}
			return nil
		},
	}
}

// definitionDirs are where container definitions live, highest first.
var definitionDirs = []string{"/etc/dockah/containers", "/run/dockah/containers", "/usr/lib/dockah/containers"}

// inUseChecker reports the definitions and containers that use what a
// removal deletes. It reads only the image key of each definition; the
// drop-ins and templates of the full loader are not considered.
func inUseChecker(st *rootfs.Store, dirs []string) func(rootfs.Removal) ([]string, error) {
	return func(rm rootfs.Removal) ([]string, error) {
		var users []string
		defs, err := definitionImages(dirs)
		if err != nil {
			return nil, err
		}
		for file, ref := range defs {
			if usesRemoved(st, ref, rm) {
				users = append(users, "definition "+file)
			}
		}
		if rm.DeletesImage {
			names, err := st.Containers()
			if err != nil {
				return nil, err
			}
			for _, name := range names {
				if id, err := st.ContainerImage(name); err == nil && id == rm.ID {
					users = append(users, "container "+name)
				}
			}
		}
		return users, nil
	}
}

// usesRemoved reports whether a definition's image reference names a
// removed name, or the image when the image goes.
func usesRemoved(st *rootfs.Store, ref string, rm rootfs.Removal) bool {
	cands, _ := st.Candidates(ref)
	for _, c := range cands {
		if slices.Contains(rm.Names, c) {
			return true
		}
	}
	if rm.DeletesImage {
		if img, err := st.Resolve(ref); err == nil && img.ID == rm.ID {
			return true
		}
	}
	return false
}

// definitionImages maps each definition file to its image key.
func definitionImages(dirs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.toml"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			var def struct {
				Image string `toml:"image"`
			}
			if _, err := toml.DecodeFile(f, &def); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				fmt.Fprintf(os.Stderr, "dockah: %s: %v (ignored when checking image use)\n", f, err)
				continue
			}
			if def.Image != "" {
				out[f] = def.Image
			}
		}
	}
	return out, nil
}
