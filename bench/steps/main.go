// Command steps takes a container's start apart (issue 16). In one systemd
// box (tests/box) it
//
//   - starts a container behind a passed socket N times cold, with
//     DOCKAH_TRACE=1 in its unit, three times: under the generated unit,
//     the same with DOCKAH_PLAN=0 (no start plan: every start computes
//     its configuration), and with the unit's sandbox reset by a drop-in
//     (the shim's own time, without systemd's); each sample is one
//     connection, and every step the shim traces (activation.Trace) is
//     placed on the time since the connection began;
//   - runs `dockah run --rm IMAGE` (the entrypoint is /bin/true) N times
//     with DOCKAH_TRACE=1, which the CLI hands on to the shim and to the
//     unit's ExecStopPost=, and places every step on the time since the
//     command began;
//   - with -base DIR (the bin/ of another build), also runs that build's
//     shim (steps-base) and CLI (run-base), interleaved with this one's,
//     for a before and after in one box.
//
// The served starts go in rounds whose order rotates, as bench/suite's.
// For each step it prints the median time since the start and the median
// time since the step before. bench/suite compares the totals with crun,
// runc, podman and systemd-nspawn. It needs root and `make build`; run it
// under the box lock: flock /tmp/dockah-box.lock go run ./bench/steps.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/dockah/dockah/bench/measure"
	"github.com/dockah/dockah/tests/box"
)

func main() {
	n := flag.Int("n", 20, "samples per variant")
	base := flag.String("base", "", "also run the shim and the CLI of another build (its bin/ directory, made by make build), interleaved: steps-base and run-base")
	out := flag.String("out", "", "also write the report to this file")
	ablate := flag.Bool("ablate", false, "also start, for every directive of the unit's sandbox, the served unit with only that directive reset, and tell what each costs")
	runOnly := flag.Bool("run-only", false, "take apart dockah run only, not the served starts")
	flag.StringVar(&runArgs, "run-args", "", "the options of the measured dockah run instead of --rm (\"--restart=on-failure\" makes it a transient service instead of a scope)")
	flag.Parse()
	box.TearDownOnSignal(logf)
	report, err := run(*n, *base, *ablate, *runOnly)
	if err != nil {
		fmt.Fprintf(os.Stderr, "steps: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "steps: %v\n", err)
			os.Exit(1)
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "steps: "+format+"\n", args...)
}

func run(n int, base string, ablate, runOnly bool) (string, error) {
	b, err := box.Boot(box.Options{Log: logf})
	if err != nil {
		return "", err
	}
	defer b.Close()
	s := &session{box: b, base: base, ablate: ablate}
	if err := s.setup(); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Where a start's time goes\n\n%s, cgroup layout %s, %d samples per table; medians. `go run ./bench/steps` (DOCKAH_TRACE=1).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), b.Layout(), n)
	units := []string{"steps-served", "steps-noplan", "steps-nosandbox", "steps-hostids"}
	if base != "" {
		units = append(units, "steps-base")
	}
	var ablated []string
	for unit := range s.ablated {
		ablated = append(ablated, unit)
	}
	sort.Strings(ablated)
	if runOnly {
		units, ablated = nil, nil
	}
	served := map[string][]sample{}
	if len(units) > 0 {
		if served, err = s.served(append(units, ablated...), n); err != nil {
			return "", err
		}
	}
	if len(ablated) > 0 {
		sb.WriteString(ablationTable(served, ablated, s.ablated))
	}
	for _, unit := range units {
		fmt.Fprintf(&sb, "## %s: cold first byte through a passed socket\n\n%s\n\n", unit, notes[unit])
		sb.WriteString(table(served[unit], "since the connection began"))
	}
	runs, err := s.dockahRun(n)
	if err != nil {
		return "", fmt.Errorf("dockah run: %w", err)
	}
	for _, name := range []string{"run", "run-base"} {
		if samples := runs[name]; samples != nil {
			args := "--rm"
			if runArgs != "" {
				args = runArgs
			}
			fmt.Fprintf(&sb, "## %s: dockah run %s (entrypoint /bin/true)\n\n%s\n\n", name, args, notes[name])
			sb.WriteString(table(samples, "since the command began"))
		}
	}
	return sb.String(), nil
}

// runArgs are the options of the measured dockah run (-run-args), "" for
// --rm.
var runArgs string

// notes say what each table measures.
var notes = map[string]string{
	"steps-served":    "The generated unit, with its sandbox; from the second start on the shim reads its start plan.",
	"steps-noplan":    "The same with `DOCKAH_PLAN=0`: every start computes its configuration from the definition, the image and the policy.",
	"steps-nosandbox": "The generated unit with every directive of its sandbox reset by a drop-in: the shim's own time, without systemd's mount namespace.",
	"steps-hostids":   "steps-served's definition with `userns = \"host\"`: no user namespace of its own, no range, the layers mounted as they are; against steps-served, what the default user namespace costs each step.",
	"run":             "The CLI and its shim, in the scope it makes for an attached run (docs/cli.md), each step on the time since the command began (`date` before and after); the command runs in a transient service of the box (`systemd-run --wait --pipe`), 0.2 s after its start.",
	"steps-base":      "steps-served's definition started by the shim of the -base build (a drop-in sets its ExecStart=).",
	"run-base":        "The CLI of the -base build (its own `run-ended`; the transient unit runs this build's shim), alternating with run.",
}

// sample is one traced start: each step's time since the start began,
// and since the step before it in this start.
type sample struct {
	steps map[string]time.Duration
	after map[string]time.Duration
	last  time.Duration
}

func (s *sample) add(name string, at time.Duration) {
	if s.steps == nil {
		s.steps, s.after = map[string]time.Duration{}, map[string]time.Duration{}
	}
	s.steps[name] = at
	s.after[name] = at - s.last
	s.last = at
}

// parseTrace reads the "dockah-trace MICROS pid=PID STEP" lines of out
// that fall in [from, to) and places them on the time since from. A step
// that comes again (a second process of ours) gets " (2)" and on.
func parseTrace(out string, from, to int64) sample {
	var s sample
	for _, line := range strings.Split(out, "\n") {
		_, rest, ok := strings.Cut(line, "dockah-trace ")
		if !ok {
			continue
		}
		var us int64
		var pid int
		if _, err := fmt.Sscanf(rest, "%d pid=%d", &us, &pid); err != nil || us < from || us >= to {
			continue
		}
		f := strings.SplitN(rest, " ", 3)
		if len(f) < 3 {
			continue
		}
		name := f[2]
		if strings.HasPrefix(name, "shim: no plan: ") {
			name = "shim: no plan"
		}
		for i := 2; ; i++ {
			if _, seen := s.steps[name]; !seen {
				break
			}
			name = fmt.Sprintf("%s (%d)", f[2], i)
		}
		s.add(name, time.Duration(us-from)*time.Microsecond)
	}
	return s
}

// table renders, for every step, the median of its time since the start
// and of its time since the step before it in the same start, ordered by
// the first; and the median time from the shim's first line to its
// configuration (prepare).
func table(samples []sample, since string) string {
	at, after := map[string][]time.Duration{}, map[string][]time.Duration{}
	var prepare []time.Duration
	for _, s := range samples {
		for name, d := range s.steps {
			at[name] = append(at[name], d)
			after[name] = append(after[name], s.after[name])
		}
		if p, ok := s.steps["shim: prepared"]; ok {
			prepare = append(prepare, p-s.steps["shim: running"])
		}
	}
	type row struct {
		name   string
		median time.Duration
	}
	var rows []row
	for name, ds := range at {
		rows = append(rows, row{name, measure.Quantile(ds, 0.5)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].median < rows[j].median })
	var sb strings.Builder
	fmt.Fprintf(&sb, "| step | %s, median | after the step before, median |\n|---|---|---|\n", since)
	for _, r := range rows {
		note := ""
		if c := len(at[r.name]); c != len(samples) {
			note = fmt.Sprintf(" (%d of %d samples)", c, len(samples))
		}
		fmt.Fprintf(&sb, "| %s%s | %.2f ms | %+.2f ms |\n", r.name, note, measure.Millis(r.median), measure.Millis(measure.Quantile(after[r.name], 0.5)))
	}
	if len(prepare) > 0 {
		fmt.Fprintf(&sb, "\nPrepare (shim: running to shim: prepared): median %.2f ms, p90 %.2f ms, %d samples.\n",
			measure.Millis(measure.Quantile(prepare, 0.5)), measure.Millis(measure.Quantile(prepare, 0.9)), len(prepare))
	}
	sb.WriteString("\n")
	return sb.String()
}

// ablationTable tells, for each directive of the sandbox, the cold first
// byte and the shim's first line of the served unit with only that
// directive reset, against the whole sandbox and none of it.
func ablationTable(served map[string][]sample, units []string, keys map[string]string) string {
	med := func(unit, step string) time.Duration {
		var ds []time.Duration
		for _, s := range served[unit] {
			if d, ok := s.steps[step]; ok {
				ds = append(ds, d)
			}
		}
		return measure.Quantile(ds, 0.5)
	}
	const fb, running = "first byte (client)", "shim: running"
	all := med("steps-served", fb)
	var sb strings.Builder
	sb.WriteString("## What each directive of the sandbox costs\n\nThe served unit with one directive reset by a drop-in; what it saves is the whole sandbox's median less this one's.\n\n")
	sb.WriteString("| directive reset | cold first byte, median | saves | shim: running, median |\n|---|---|---|---|\n")
	row := func(name, unit string) {
		fmt.Fprintf(&sb, "| %s | %.2f ms | %+.2f ms | %.2f ms |\n", name, measure.Millis(med(unit, fb)), measure.Millis(all-med(unit, fb)), measure.Millis(med(unit, running)))
	}
	row("(none: the whole sandbox)", "steps-served")
	for _, unit := range units {
		row(keys[unit], unit)
	}
	row("(all: no sandbox)", "steps-nosandbox")
	sb.WriteString("\n")
	return sb.String()
}
