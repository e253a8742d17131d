package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/cmd/internal/usage"
)

type statsOptions struct {
	noStream, noReset bool
	interval          interval
	format            rowFormat[statsRow]
	sysroot           string
}

func newStatsCommand(_ *globalOptions) *cobra.Command {
	opts := &statsOptions{format: newStatsFormat()}
	cmd := &cobra.Command{
		Use:   "stats [--no-stream] [--format json|TEMPLATE] [NAME...]",
		Short: "Show containers' CPU, memory, network, block I/O and process count",
		Long: `Show what running containers use, refreshed every 2 seconds (--interval)
on a cleared screen until interrupted, or once with --no-stream. Without
NAME, every running container.

  CPU %              CPU time used since the last refresh (since the
                     start for the first), 100% being one CPU busy
  MEM USAGE / LIMIT  the cgroup's memory; the limit is MemoryMax=, or the
                     host's memory when there is none
  MEM %              usage / limit
  NET IO             bytes received / sent on the interfaces of the
                     container's network namespace, loopback included;
                     "-" for a container in the host's network
  BLOCK IO           bytes read / written by the cgroup
  PIDS               tasks (threads) in the cgroup
  CPU TIME, AVG CPU %  CPU time since the start, and its average

Each comes from systemd's accounting of NAME.service where systemd keeps
it (MemoryCurrent, CPUUsageNSec, TasksCurrent, IOReadBytes), else from the
files of the service's cgroup (cpu.stat, memory.current, pids.current,
io.stat, or their cgroup v1 counterparts). Where the cgroup has no memory
controller, memory is the sum of its processes' proportional set sizes
(PSS; the JSON says "memorySource": "pss"). What is known nowhere is "-".
Sizes are in podman's units (kB, MB: powers of 1000).

--format json prints an array per refresh (numbers in bytes, nanoseconds
and percent; null when unknown). --format also takes a Go template with
podman's field names: Name, CPUPerc, AVGCPU, CPU, AvgCPU, CPUNano, UpTime,
MemUsage, MemUsageBytes, MemPerc, MemLimit, NetIO, NetInput, NetOutput,
BlockIO, BlockInput, BlockOutput, PIDs; "table TEMPLATE" adds headers.`,
		Example: `  dockah stats
  dockah stats --no-stream web db
  dockah stats --no-stream --format json | jq '.[] | {name, memoryBytes}'
  dockah stats --no-stream --format 'table {{.Name}} {{.CPUPerc}} {{.MemUsage}}'`,
		ValidArgsFunction: completeContainers,
		RunE: func(c *cobra.Command, names []string) error {
			return runStats(c, opts, names)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.noStream, "no-stream", false, "print one report and exit")
	fl.BoolVar(&opts.noReset, "no-reset", false, "do not clear the screen between reports")
	opts.interval = interval(2 * time.Second)
	fl.VarP(&opts.interval, "interval", "i", "time between reports: seconds, as podman's, or a duration (500ms)")
	fl.Var(&opts.format, "format", "output as a `table`, as json, or through a Go template")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{formatTable, formatJSON}, cobra.ShellCompDirectiveNoFileComp))
	addSysrootFlag(cmd, &opts.sysroot)
	return cmd
}

// interval is --interval: whole seconds as podman takes them ("5"), or a
// Go duration ("1.5s", "500ms").
type interval time.Duration

func (i *interval) String() string { return time.Duration(*i).String() }
func (i *interval) Type() string   { return "SECONDS" }

func (i *interval) Set(s string) error {
	d, err := time.ParseDuration(s)
	if n, nerr := strconv.Atoi(s); nerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a positive number of seconds or a duration such as 500ms", s)
	}
	*i = interval(d)
	return nil
}

// clearScreen moves the cursor home and clears the terminal, between
// reports.
const clearScreen = "\x1b[H\x1b[2J"

func runStats(c *cobra.Command, opts *statsOptions, names []string) error {
	ctx := c.Context()
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	prev := map[string]statsSample{}
	for {
		samples, err := sampleStats(ctx, conn, opts.sysroot, names)
		if err != nil {
			return err
		}
		reports := make([]containerStats, 0, len(samples))
		next := map[string]statsSample{}
		for _, s := range samples {
			var before *statsSample
			if p, ok := prev[s.Name]; ok {
				before = &p
			}
			reports = append(reports, computeStats(before, s))
			next[s.Name] = s
		}
		prev = next
		if !opts.noStream && !opts.noReset {
			fmt.Fprint(c.OutOrStdout(), clearScreen)
		}
		if err := printStats(c.OutOrStdout(), opts, reports); err != nil {
			return err
		}
		if opts.noStream {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(opts.interval)):
		}
	}
}

func printStats(w io.Writer, opts *statsOptions, reports []containerStats) error {
	switch {
	case opts.format.isTemplate():
		rows := make([]statsRow, len(reports))
		for i, r := range reports {
			rows[i] = r.row()
		}
		return opts.format.execute(w, rows)
	case opts.format.name == formatJSON:
		return writeJSON(w, reports)
	}
	return printStatsTable(w, reports)
}

// errNotRunning marks a container whose service has no main process.
var errNotRunning = errors.New("not running")

// sampleStats reads the containers named, or every running one.
func sampleStats(ctx context.Context, conn *sdbus.Conn, sysroot string, names []string) ([]statsSample, error) {
	services, err := statsServices(ctx, conn, sysroot, names)
	if err != nil {
		return nil, err
	}
	hostMemory := (*uint64)(nil)
	if n, ok := usage.HostMemory(); ok {
		hostMemory = &n
	}
	var out []statsSample
	for _, name := range services.names {
		s, err := sampleContainer(ctx, conn, name, services.units[name], hostMemory)
		if errors.Is(err, errNotRunning) && len(names) == 0 {
			continue // it stopped since it was listed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// containerServices are containers in order, with their service units.
type containerServices struct {
	names []string
	units map[string]string
}

// statsServices returns the containers named (NAME.service each), or
// those that run, as dockah ps lists them.
func statsServices(ctx context.Context, conn *sdbus.Conn, sysroot string, names []string) (containerServices, error) {
	out := containerServices{units: map[string]string{}}
	if len(names) > 0 {
		for _, n := range names {
			out.names = append(out.names, n)
			out.units[n] = containerUnit(os.DirFS(sysroot), n)
		}
		return out, nil
	}
	defs, _ := containerDefinitions(ctx, conn, os.DirFS(sysroot))
	list, err := queryStatus(ctx, conn, defs, time.Now())
	if err != nil {
		return out, err
	}
	for _, s := range runningOnly(list) {
		out.names = append(out.names, s.Name)
		out.units[s.Name] = s.Service
	}
	return out, nil
}

// sampleContainer reads one container: systemd's accounting of its
// service, the files of the service's cgroup, and the network counters of
// its main process's namespace.
func sampleContainer(ctx context.Context, conn *sdbus.Conn, name, service string, hostMemory *uint64) (statsSample, error) {
	props, err := unitTypeProperties(ctx, conn, service)
	if err != nil {
		return statsSample{}, fmt.Errorf("ask systemd about %s: %w", service, err)
	}
	var counters usage.Counters
	var procs []int
	if cg, _ := props["ControlGroup"].(string); cg != "" {
		paths, err := activation.CgroupPathsOf(cg)
		if err != nil {
			return statsSample{}, err
		}
		counters = usage.ReadCgroup(paths)
		procs, _ = usage.Procs(paths)
	}
	s := mergeSample(name, service, props, counters, time.Now())
	if s.MainPID == 0 {
		return s, fmt.Errorf("container %s is %w (start it with: dockah start %s)", name, errNotRunning, name)
	}
	if s.Memory == nil {
		if n, ok := usage.PSS(procs); ok {
			s.Memory, s.MemorySource = &n, "pss"
		}
	}
	if s.MemoryLimit == nil {
		s.MemoryLimit = hostMemory
	}
	if rx, tx, ok := usage.NetIO(int(s.MainPID)); ok {
		s.NetInput, s.NetOutput = &rx, &tx
	}
	return s, nil
}

// mergeSample takes each counter from systemd's properties of the
// service where systemd accounts it, else from the cgroup's files.
func mergeSample(name, service string, props map[string]any, cg usage.Counters, at time.Time) statsSample {
	s := statsSample{Name: name, Service: service, At: at}
	s.MainPID, _ = props["MainPID"].(uint32)
	if usec, ok := props["ExecMainStartTimestamp"].(uint64); ok && usec != 0 {
		started := time.UnixMicro(int64(usec))
		s.StartedAt = &started
	}
	s.CPUNSec = firstKnown(accounted(props["CPUUsageNSec"]), cg.CPUNSec)
	s.Memory = firstKnown(accounted(props["MemoryCurrent"]), cg.MemoryBytes)
	if s.Memory != nil {
		s.MemorySource = "cgroup"
	}
	s.MemoryLimit = firstKnown(accounted(props["MemoryMax"]), accounted(props["MemoryLimit"]), cg.MemoryMax)
	s.PIDs = firstKnown(accounted(props["TasksCurrent"]), cg.Tasks)
	s.BlockRead = firstKnown(accounted(props["IOReadBytes"]), cg.IORead)
	s.BlockWrite = firstKnown(accounted(props["IOWriteBytes"]), cg.IOWrite)
	return s
}

// firstKnown returns the first of values that is not nil.
func firstKnown(values ...*uint64) *uint64 {
	for _, v := range values {
		if v != nil {
			return v
		}
	}
	return nil
}
