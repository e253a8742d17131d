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
//     command began.
//
// For each step it prints the median time since the start and the median
// time since the step before. bench/suite compares the totals with crun,
// runc, podman and systemd-nspawn. It needs root and `make build`; run it
// under the box lock: flock /tmp/dockah-box.lock go run ./bench/steps.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dockah/dockah/bench/measure"
	"github.com/dockah/dockah/tests/box"
)

func main() {
	n := flag.Int("n", 20, "samples per variant")
	out := flag.String("out", "", "also write the report to this file")
	flag.Parse()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-signals
		_ = box.ReapOwn()
		os.Exit(130)
	}()
	report, err := run(*n)
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

func run(n int) (string, error) {
	b, err := box.Boot(box.Options{Log: logf})
	if err != nil {
		return "", err
	}
	defer b.Close()
	s := &session{box: b}
	if err := s.setup(); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Where a start's time goes\n\n%s, cgroup layout %s, %d samples per table; medians. `go run ./bench/steps` (DOCKAH_TRACE=1).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), b.Layout(), n)
	for _, unit := range []string{"steps-served", "steps-noplan", "steps-nosandbox"} {
		samples, err := s.served(unit, n)
		if err != nil {
			return "", fmt.Errorf("%s: %w", unit, err)
		}
		fmt.Fprintf(&sb, "## %s: cold first byte through a passed socket\n\n", unit)
		sb.WriteString(table(samples, "since the connection began"))
	}
	samples, err := s.dockahRun(n)
	if err != nil {
		return "", fmt.Errorf("dockah run: %w", err)
	}
	sb.WriteString("## dockah run --rm (entrypoint /bin/true)\n\n")
	sb.WriteString(table(samples, "since the command began"))
	return sb.String(), nil
}

// sample is one traced start: each step's time since the start began.
type sample struct {
	steps map[string]time.Duration
	order []string // step names in the order they happened
}

// parseTrace reads the "dockah-trace MICROS pid=PID STEP" lines of out
// that fall in [from, to) and places them on the time since from. A step
// that comes again (a second process of ours) gets " (2)" and on.
func parseTrace(out string, from, to int64) sample {
	s := sample{steps: map[string]time.Duration{}}
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
		for i := 2; ; i++ {
			if _, seen := s.steps[name]; !seen {
				break
			}
			name = fmt.Sprintf("%s (%d)", f[2], i)
		}
		s.steps[name] = time.Duration(us-from) * time.Microsecond
		s.order = append(s.order, name)
	}
	return s
}

// table renders the median of every step over the samples, ordered by
// that median.
func table(samples []sample, since string) string {
	all := map[string][]time.Duration{}
	for _, s := range samples {
		for name, d := range s.steps {
			all[name] = append(all[name], d)
		}
	}
	type row struct {
		name   string
		median time.Duration
		count  int
	}
	var rows []row
	for name, ds := range all {
		rows = append(rows, row{name, measure.Quantile(ds, 0.5), len(ds)})
	}
	for i := range rows {
		for j := i + 1; j < len(rows); j++ {
			if rows[j].median < rows[i].median {
				rows[i], rows[j] = rows[j], rows[i]
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "| step | %s, median | after the step before |\n|---|---|---|\n", since)
	var prev time.Duration
	for _, r := range rows {
		note := ""
		if r.count != len(samples) {
			note = fmt.Sprintf(" (%d of %d samples)", r.count, len(samples))
		}
		fmt.Fprintf(&sb, "| %s%s | %.2f ms | %+.2f ms |\n", r.name, note, measure.Millis(r.median), measure.Millis(r.median-prev))
		prev = r.median
	}
	sb.WriteString("\n")
	return sb.String()
}
