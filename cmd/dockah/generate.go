package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dockah/dockah/unitgen"
	"github.com/spf13/cobra"
)

// shimPath is the activation shim the generated units run; the Makefile
// sets it with -X main.shimPath=$(LIBEXECDIR)/dockah/dockah-activate.
var shimPath = "/usr/local/libexec/dockah/dockah-activate"

type generateOptions struct {
	dryRun  bool
	dir     string
	sysroot string
}

func newGenerateCommand(_ *globalOptions) *cobra.Command {
	opts := &generateOptions{}
	cmd := &cobra.Command{
		Use:   "generate [--dry-run] [--dir DIR]",
		Short: "Print or write the units the generator would write",
		Long: `Generate the units of the container definitions in /etc/dockah/containers,
/run/dockah/containers and /usr/lib/dockah/containers, as the systemd
generator does at boot and on daemon-reload.

With --dry-run, or without --dir, print them (each file after a "# NAME"
line). With --dir, write them into DIR, e.g. to run systemd-analyze verify.
Problems are printed on stderr, one per line, and make the exit status 1.`,
		Example: `  dockah generate --dry-run
  dockah generate --dir /tmp/units && systemd-analyze verify /tmp/units/*.service`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGenerate(cmd.OutOrStdout(), cmd.ErrOrStderr(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "print the units instead of writing them")
	cmd.Flags().StringVar(&opts.dir, "dir", "", "write the units into `DIR`")
	cmd.Flags().StringVar(&opts.sysroot, "sysroot", "/", "read the definitions below `ROOT` instead of /")
	return cmd
}

func runGenerate(stdout, stderr io.Writer, opts *generateOptions) error {
	out, err := unitgen.Generate(os.DirFS(opts.sysroot), unitgen.Options{ShimPath: shimPath})
	if out == nil {
		return err
	}
	problems := printProblems(stderr, err)
	if opts.dryRun || opts.dir == "" {
		printUnits(stdout, out)
	} else if err := writeUnits(opts.dir, out); err != nil {
		return fmt.Errorf("write units into %s: %w", opts.dir, err)
	}
	return problemCount(problems)
}

// printUnits prints units as "systemctl cat" does, then the links.
func printUnits(w io.Writer, out *unitgen.Output) {
	for i, u := range out.Units {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "# %s\n%s", u.Name, u.Text)
	}
	for _, l := range out.Links {
		fmt.Fprintf(w, "\n# %s -> %s", l.Path, l.Target)
	}
	if len(out.Links) > 0 {
		fmt.Fprintln(w)
	}
}

// writeUnits writes units and links into dir, replacing what is there
// under the same names.
func writeUnits(dir string, out *unitgen.Output) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, u := range out.Units {
		// Drop-ins (dockah-pull@NAME.service.d/…) need their directory.
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, u.Name)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, u.Name), []byte(u.Text), 0o644); err != nil {
			return err
		}
	}
	for _, l := range out.Links {
		p := filepath.Join(dir, l.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Symlink(l.Target, p); err != nil {
			return err
		}
	}
	return nil
}

// printProblems prints each problem in err on a line and counts them.
func printProblems(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	diags := unitgen.Diagnostics(err)
	for _, d := range diags {
		fmt.Fprintln(w, d.Error())
	}
	if len(diags) == 0 {
		fmt.Fprintln(w, err.Error())
		return 1
	}
	return len(diags)
}

// problemCount is the error of a command that printed n problems.
func problemCount(n int) error {
	switch n {
	case 0:
		return nil
	case 1:
		return errors.New("1 problem in the definitions")
	}
	return fmt.Errorf("%d problems in the definitions", n)
}

func newValidateCommand(opts *globalOptions) *cobra.Command {
	var sysroot string
	cmd := &cobra.Command{
		Use:   "validate [FILE...]",
		Short: "Check container definitions",
		Long: `Check container definitions and print every problem as
FILE:LINE: KEY: MESSAGE (accepted: ...), one per line; the exit status is 1
when there is any.

A definition whose image is not in the store (--root) gets a warning line,
WARNING: NAME: ..., saying whether its start will pull the image or fail;
warnings leave the exit status 0.

Each FILE is checked on its own: NAME.toml as a whole definition, a file in a
NAME.toml.d directory as a drop-in. Without FILE, every definition of the
search path is checked as the generator sees it, drop-ins merged.`,
		Example: `  dockah validate
  dockah validate /etc/dockah/containers/web.toml /etc/dockah/containers/web.toml.d/20-local.toml`,
		RunE: func(cmd *cobra.Command, files []string) error {
			var problems int
			var defs []*unitgen.Definition
			if len(files) == 0 {
				all, err := unitgen.LoadAll(os.DirFS(sysroot))
				problems = printProblems(cmd.ErrOrStderr(), err)
				defs = all
			}
			for _, file := range files {
				def, err := validateFile(file)
				problems += printProblems(cmd.ErrOrStderr(), err)
				if err == nil && !opts.quiet {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", file)
				}
				if err == nil && def != nil {
					defs = append(defs, def)
				}
			}
			warnImages(cmd.ErrOrStderr(), opts.storeRoot, defs)
			return problemCount(problems)
		},
	}
	cmd.Flags().StringVar(&sysroot, "sysroot", "/", "without FILE, read the definitions below `ROOT` instead of /")
	return cmd
}

// validateFile checks one definition or drop-in file, and returns the
// definition a good definition file makes (nil for a drop-in).
func validateFile(file string) (*unitgen.Definition, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	f := unitgen.File{Path: file, Data: data}
	name, ok := strings.CutSuffix(filepath.Base(file), ".toml")
	if !ok {
		return nil, fmt.Errorf("%s: not a definition (accepted: NAME.toml, or a drop-in NAME.toml.d/*.toml)", file)
	}
	if unit, isDropIn := strings.CutSuffix(filepath.Base(filepath.Dir(file)), ".toml.d"); isDropIn {
		return nil, unitgen.CheckDropIn(unit, f)
	}
	return unitgen.Parse(name, f)
}
