package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dockah/dockah/unitgen"
)

type psOptions struct {
	all     bool
	filters []string
	format  rowFormat[psRow]
	sysroot string
}

func newPsCommand(_ *globalOptions) *cobra.Command {
	opts := &psOptions{}
	cmd := &cobra.Command{
		Use:   "ps [-a] [-f FILTER] [--format table|json|TEMPLATE]",
		Short: "List containers: state, main pid, image, sockets, memory, CPU and uptime",
		Long: `List the containers that run, or with -a every defined container (and each
loaded instance of a template), with what systemd knows of them: the state
of NAME.service, its main pid (the container's init), the image, the
sockets systemd listens on for it, and its cgroup's memory and CPU use.

A container that does not run shows how it last ended while systemd keeps
its unit's state (a failed unit until reset-failed), in the last column:
"exited 3", "killed SIGKILL"; the JSON has it as "exit". systemd unloads an
inactive unit that nothing references, and how it ended goes with it.

Memory and CPU show "-" where systemd does not account them (no
MemoryAccounting= or CPUAccounting=, or no controllers on this cgroup
layout). The JSON output has one object per container with the same
fields, and null for what is unknown.`,
		Example: `  dockah ps
  dockah ps -a
  dockah ps --format json | jq -r '.[] | select(.state == "failed") | .name'
  dockah ps -a --format '{{.Names}} {{.Status}}'
  dockah ps --format 'table {{.Names}} {{.Image}} {{.Ports}}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runPs(c, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.all, "all", "a", false, "list every defined container, not only the running ones")
	cmd.Flags().StringArrayVarP(&opts.filters, "filter", "f", nil, "list only the containers that match: name=TEXT, label=NAME[=VALUE], status=STATE, image=IMAGE (all must match)")
	opts.format = newRowFormat(psRow{Labels: map[string]string{}}, nil, "{{.Names}} {{.Status}}")
	cmd.Flags().Var(&opts.format, "format", "output as a `table`, as json, or through a Go template run on each container ({{.Names}}, {{.Image}}, {{.State}}, {{.Status}}, {{.Ports}}, {{.PID}}, {{.Labels}}...); \"table \" before a template adds headers")
	addSysrootFlag(cmd, &opts.sysroot)
	return cmd
}

func runPs(c *cobra.Command, opts *psOptions) error {
	ctx := c.Context()
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defs, problems := containerDefinitions(ctx, conn, os.DirFS(opts.sysroot))
	warnProblems(c.ErrOrStderr(), problems)
	list, err := queryStatus(ctx, conn, defs, time.Now())
	if err != nil {
		return err
	}
	if opts.all {
		addStopRecords(ctx, list)
	} else {
		list = runningOnly(list)
	}
	if list, err = filterStatus(list, opts.filters); err != nil {
		return err
	}
	if opts.format.isTemplate() {
		return opts.format.execute(c.OutOrStdout(), psRows(list))
	}
	if opts.format.name == formatJSON {
		return writeJSON(c.OutOrStdout(), list)
	}
	return printStatusTable(c.OutOrStdout(), list)
}

// warnProblems says on one line that some definitions were left out.
func warnProblems(w io.Writer, problems error) {
	if problems == nil {
		return
	}
	n := len(unitgen.Diagnostics(problems))
	if n == 0 {
		fmt.Fprintf(w, "dockah: warning: %v\n", problems)
		return
	}
	fmt.Fprintf(w, "dockah: warning: %d problems in the definitions left containers out (see: dockah validate)\n", n)
}

func runningOnly(list []containerStatus) []containerStatus {
	out := []containerStatus{}
	for _, s := range list {
		if s.running() {
			out = append(out, s)
		}
	}
	return out
}

// psRow is a container as a ps --format template sees it, with podman's
// field names where podman has one.
type psRow struct {
	Names   string
	Image   string
	State   string // the service's ActiveState
	Status  string // "Up 3h20m", "exited 3", "inactive"
	Ports   string // the listen addresses of its sockets
	PID     string
	Memory  string
	CPU     string
	Service string
	Run     bool
	Labels  map[string]string
}

func psRows(list []containerStatus) []psRow {
	rows := make([]psRow, 0, len(list))
	for _, s := range list {
		status := s.State
		switch {
		case s.running() && s.UptimeSeconds != nil:
			status = "Up " + uptimeColumn(s.UptimeSeconds)
		case s.Exit != nil:
			status = s.Exit.String()
		}
		labels := s.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		rows = append(rows, psRow{
			Names: s.Name, Image: s.Image, State: s.State, Status: status, Ports: socketsColumn(s.Sockets),
			PID: pidColumn(s.MainPID), Memory: sizeColumn(s.MemoryBytes), CPU: cpuColumn(s.CPUNSec),
			Service: s.Service, Run: s.Run, Labels: labels,
		})
	}
	return rows
}

// printStatusTable prints the ps table.
func printStatusTable(w io.Writer, list []containerStatus) error {
	tw := newTable(w, "NAME", "STATE", "PID", "IMAGE", "SOCKETS", "MEMORY", "CPU", "UPTIME", "LAST EXIT")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, pidColumn(s.MainPID), s.Image,
			socketsColumn(s.Sockets), sizeColumn(s.MemoryBytes), cpuColumn(s.CPUNSec), uptimeColumn(s.UptimeSeconds), exitColumn(s))
	}
	return tw.Flush()
}

// exitColumn is how a container that does not run last ended: "exited 1",
// "killed SIGKILL"; the last column, since it has a space.
func exitColumn(s containerStatus) string {
	if s.Exit == nil {
		return "-"
	}
	return s.Exit.String()
}

func pidColumn(pid uint32) string {
	if pid == 0 {
		return "-"
	}
	return strconv.FormatUint(uint64(pid), 10)
}

// socketsColumn lists the listen addresses; those of a socket unit that
// is not listening are marked.
func socketsColumn(sockets []socketStatus) string {
	var out []string
	for _, s := range sockets {
		for _, l := range s.Listen {
			if s.State != "active" {
				l += " (" + s.State + ")"
			}
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}

func sizeColumn(n *uint64) string {
	if n == nil {
		return "-"
	}
	return humanSize(int64(*n))
}

func cpuColumn(n *uint64) string {
	if n == nil {
		return "-"
	}
	return cpuTime(*n)
}

func uptimeColumn(sec *int64) string {
	if sec == nil {
		return "-"
	}
	return humanDuration(time.Duration(*sec) * time.Second)
}

// filterStatus keeps the containers that match every filter, as podman ps
// --filter: name= (part of the name), label=NAME or label=NAME=VALUE,
// status= (running, or a state: active, inactive, failed, activating...),
// image= (the image as the definition names it).
func filterStatus(list []containerStatus, filters []string) ([]containerStatus, error) {
	type match func(containerStatus) bool
	var matches []match
	for _, f := range filters {
		key, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("--filter %q: want KEY=VALUE, KEY one of name, label, status, image", f)
		}
		switch key {
		case "name":
			matches = append(matches, func(s containerStatus) bool { return strings.Contains(s.Name, value) })
		case "label":
			name, want, hasValue := strings.Cut(value, "=")
			matches = append(matches, func(s containerStatus) bool {
				got, ok := s.Labels[name]
				return ok && (!hasValue || got == want)
			})
		case "status":
			matches = append(matches, func(s containerStatus) bool {
				return s.State == value || (value == "running" && s.running()) || (value == "exited" && s.Exit != nil && !s.running())
			})
		case "image":
			matches = append(matches, func(s containerStatus) bool { return s.Image == value })
		default:
			return nil, fmt.Errorf("--filter %q: unknown key %s; accepted: name, label, status, image", f, key)
		}
	}
	out := []containerStatus{}
	for _, s := range list {
		keep := true
		for _, m := range matches {
			keep = keep && m(s)
		}
		if keep {
			out = append(out, s)
		}
	}
	return out, nil
}
