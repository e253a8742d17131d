package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dockah/dockah/unitgen"
)

type logsOptions struct {
	follow  bool
	lines   int
	since   string
	until   string
	output  string
	noPager bool
	sysroot string
}

func newLogsCommand(_ *globalOptions) *cobra.Command {
	opts := &logsOptions{lines: -1}
	cmd := &cobra.Command{
		Use:   "logs NAME [-f] [-n N] [--since TIME]",
		Short: "Show a container's journal: its stdout, stderr and syslog",
		Long: `Show the journal of the container NAME: what it wrote to stdout, stderr and
/dev/log, and what systemd and dockah logged about it (starts, stops, the
audit records). It runs journalctl -u with the container's units
(NAME.service and its sockets), so everything journalctl accepts for
--since and --until works here: "2024-05-01 10:00", "-1h", "today".

For a template (NAME@) every instance is shown. A NAME that is no longer
defined still shows what its units logged.`,
		Example: `  dockah logs web
  dockah logs -f web
  dockah logs -n 100 --since -1h web@blue
  dockah logs -o json web | jq -r .MESSAGE`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeContainers,
		RunE: func(c *cobra.Command, args []string) error {
			units, err := logUnits(opts.sysroot, args[0])
			if err != nil {
				return err
			}
			path, err := exec.LookPath("journalctl")
			if err != nil {
				return fmt.Errorf("show the journal: %w", err)
			}
			// journalctl takes over: Ctrl-C, the pager and the exit
			// status are its own.
			err = syscall.Exec(path, journalctlArgs(units, opts), os.Environ())
			return fmt.Errorf("run %s: %w", path, err)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.follow, "follow", "f", false, "keep printing new entries")
	f.IntVarP(&opts.lines, "lines", "n", -1, "show the last `N` entries (default: all, or 10 with --follow)")
	f.IntVar(&opts.lines, "tail", -1, "the same as --lines, as docker and podman spell it")
	f.StringVar(&opts.since, "since", "", "show entries from `TIME` on (journalctl's formats)")
	f.StringVar(&opts.until, "until", "", "show entries up to `TIME`")
	f.StringVarP(&opts.output, "output", "o", "", "journalctl output `MODE`: short, cat, json, verbose, ...")
	f.BoolVar(&opts.noPager, "no-pager", false, "do not pipe the output into a pager")
	addSysrootFlag(cmd, &opts.sysroot)
	return cmd
}

// logUnits returns the units whose journal is the container's: its
// service and sockets, of every instance for a template; NAME.service for
// a name no longer defined or whose definition has broken since.
func logUnits(sysroot, name string) ([]string, error) {
	def, err := loadContainer(os.DirFS(sysroot), name)
	if errors.Is(err, unitgen.ErrNotFound) || errors.Is(err, unitgen.ErrMasked) || len(unitgen.Diagnostics(err)) > 0 {
		return []string{name + ".service"}, nil
	}
	if err != nil {
		return nil, err // not a container name at all
	}
	units := []string{def.ServiceUnit()}
	for _, s := range def.SocketUnits() {
		units = append(units, s.Unit)
	}
	if def.IsTemplate() {
		for i, u := range units {
			units[i] = strings.Replace(u, "@.", "@*.", 1)
		}
	}
	// The pull of its image before a start is the container's story too.
	if pull := def.PullUnit(); pull != "" {
		units = append(units, strings.Replace(pull, "%i", "*", 1))
	}
	return units, nil
}

// loadContainer loads the definition of a container, an instance
// ("web@blue"), a template ("web@") or a container of dockah run.
func loadContainer(fsys fs.FS, name string) (*unitgen.Definition, error) {
	if !strings.HasSuffix(name, "@") {
		return loadDefinedOrRun(fsys, name)
	}
	defs, err := unitgen.LoadAll(fsys)
	for _, d := range defs {
		if d.Name == name {
			return d, nil
		}
	}
	for _, d := range unitgen.Diagnostics(err) {
		if d.Unit == name {
			return nil, d
		}
	}
	return nil, fmt.Errorf("load %s: %w", name, unitgen.ErrNotFound)
}

// journalctlArgs is the journalctl command line (argv) for units.
func journalctlArgs(units []string, o *logsOptions) []string {
	args := []string{"journalctl"}
	for _, u := range units {
		args = append(args, "--unit="+u)
	}
	if o.follow {
		args = append(args, "--follow")
	}
	if o.lines >= 0 {
		args = append(args, "--lines="+strconv.Itoa(o.lines))
	}
	if o.since != "" {
		args = append(args, "--since="+o.since)
	}
	if o.until != "" {
		args = append(args, "--until="+o.until)
	}
	if o.output != "" {
		args = append(args, "--output="+o.output)
	}
	if o.noPager {
		args = append(args, "--no-pager")
	}
	return args
}
