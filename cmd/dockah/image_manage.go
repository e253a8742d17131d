package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
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
	var sysroot string
	cmd := &cobra.Command{
		Use:     "rm IMAGE...",
		Aliases: []string{"remove"},
		Short:   "Remove names, and images with their last name or when named by ID",
		Long: `Remove a name; when it is the image's last name, or IMAGE is an image ID, the
image goes too, with the layers no other image uses. An image a container
definition or a container's writable layer uses is kept unless --force.

Every definition counts as the generator loads it, drop-ins merged: plain
definitions, templates (an image with %i keeps every name an instance could
mean) and instances with drop-ins of their own. A definition that does not
load is reported and left out of the check. A writable layer left by a
container whose definition is gone is removed with dockah rm NAME.`,
		Example: `  dockah image rm web:rollback
  dockah image rm --force nginx:1.25`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			ro := rootfs.RemoveOptions{Force: force, InUse: inUseChecker(st, os.DirFS(sysroot), c.ErrOrStderr())}
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
	addSysrootFlag(cmd, &sysroot)
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

// inUseChecker reports the definitions and containers that use what a
// removal deletes. The definitions are those of the search path below
// fsys, loaded once as the generator loads them (see unitgen.LoadAll);
// one that does not load is reported on warn and left out.
func inUseChecker(st *rootfs.Store, fsys fs.FS, warn io.Writer) func(rootfs.Removal) ([]string, error) {
	var defs []*unitgen.Definition
	loaded := false
	return func(rm rootfs.Removal) ([]string, error) {
		if !loaded {
			defs = loadForUseCheck(fsys, warn)
			loaded = true
		}
		return imageUsers(st, defs, rm)
	}
}

// imageUsers names the definitions that use what rm deletes and, when
// the image goes, the containers whose writable layer was made on it.
func imageUsers(st *rootfs.Store, defs []*unitgen.Definition, rm rootfs.Removal) ([]string, error) {
	users := definitionUsers(st, defs, rm)
	if !rm.DeletesImage {
		return users, nil
	}
	containers, err := containerUsers(st, rm.ID)
	if err != nil {
		return nil, err
	}
	return append(users, containers...), nil
}

// loadForUseCheck loads every definition and reports, one line each, the
// problems of those that do not load.
func loadForUseCheck(fsys fs.FS, warn io.Writer) []*unitgen.Definition {
	defs, err := unitgen.LoadAll(fsys)
	runs, runErr := runContainers(fsys)
	defs = append(defs, runs...)
	err = errors.Join(err, runErr)
	if err == nil {
		return defs
	}
	problems := []error{err}
	if diags := unitgen.Diagnostics(err); len(diags) > 0 {
		problems = problems[:0]
		for _, d := range diags {
			problems = append(problems, d)
		}
	}
	for _, p := range problems {
		fmt.Fprintf(warn, "dockah: %v (ignored when checking image use)\n", p)
	}
	return defs
}

// definitionUsers names the definitions whose image is deleted by rm.
func definitionUsers(st *rootfs.Store, defs []*unitgen.Definition, rm rootfs.Removal) []string {
	var users []string
	for _, d := range defs {
		if usesRemoved(st, d.Container.Image, rm) || (d.IsTemplate() && instancesUseRemoved(st, d.Container.Image, rm)) {
			users = append(users, "definition "+d.Name)
		}
	}
	return users
}

// containerUsers names the containers whose writable layer was planned
// on the image id.
func containerUsers(st *rootfs.Store, id string) ([]string, error) {
	names, err := st.Containers()
	if err != nil {
		return nil, err
	}
	var users []string
	for _, name := range names {
		if img, err := st.ContainerImage(name); err == nil && img == id {
			users = append(users, "container "+name)
		}
	}
	return users, nil
}

// usesRemoved reports whether an image reference means a removed name (as
// the store resolves it, see Store.Candidates), or the image when the
// image goes.
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

// instanceStandIn stands for a template's "%i" while its image reference
// is normalized: lower-case letters and digits are valid in every part
// of a reference.
const instanceStandIn = "dockahinstance0"

// instancesUseRemoved reports whether an instance of a template whose
// image has "%i" (image = "web:%i") may use a removed name: whichever
// instance systemd starts, "%i" stands for any text.
func instancesUseRemoved(st *rootfs.Store, image string, rm rootfs.Removal) bool {
	ref, ok := expandInstance(image, instanceStandIn)
	if !ok {
		return false
	}
	cands, err := st.Candidates(ref)
	if err != nil {
		return false
	}
	alts := make([]string, len(cands))
	for i, c := range cands {
		alts[i] = strings.ReplaceAll(regexp.QuoteMeta(c.String()), instanceStandIn, ".+")
	}
	pattern := regexp.MustCompile("^(?:" + strings.Join(alts, "|") + ")$")
	return slices.ContainsFunc(rm.Names, func(n rootfs.Reference) bool { return pattern.MatchString(n.String()) })
}

// expandInstance replaces "%i" in a template's value by instance and
// "%%" by "%", as systemd does for an instance; ok is false when the
// value has no "%i".
func expandInstance(s, instance string) (out string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) && (s[i+1] == 'i' || s[i+1] == '%') {
			if s[i+1] == 'i' {
				b.WriteString(instance)
				ok = true
			} else {
				b.WriteByte('%')
			}
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), ok
}
