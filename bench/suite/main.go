// Command suite is dockah's benchmark suite against its peers (issue 9). In
// one run, inside one systemd box (tests/box) and on one image (the hello
// server, bin/hello, plus busybox for /bin/true), it measures for dockah,
// crun, runc, podman, systemd-nspawn and the bare systemd service (the
// floor), and, to tell the generated unit's sandbox from dockah's own
// cost, the floor under that sandbox and dockah without it:
//
//   - cold first byte through socket activation (median, p90) and a warm
//     connection, all variants interleaved;
//   - start-to-exit of /bin/true, with hyperfine in the box, in rounds
//     whose order rotates;
//   - the resident memory of everything that is not the container's own
//     processes while a container runs idle;
//   - the disk used by ten containers of the image.
//
// It writes bench/results/REPORT.md, a gnuplot chart and a dated copy of
// both with the raw samples, and prints the report. It needs root;
// `make bench` runs it. The box is always torn down, also on error or
// interrupt.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dockah/dockah/tests/box"
)

// options are the command's flags.
type options struct {
	cold   int    // cold (and warm) samples per variant
	rounds int    // hyperfine rounds for start-to-exit
	runs   int    // runs per command and round
	out    string // results directory
}

func main() {
	var o options
	flag.IntVar(&o.cold, "n", 30, "cold and warm samples per variant")
	flag.IntVar(&o.rounds, "rounds", 5, "start-to-exit: hyperfine rounds (the order of commands rotates)")
	flag.IntVar(&o.runs, "runs", 10, "start-to-exit: runs per command and round")
	flag.StringVar(&o.out, "out", "", "write REPORT.md, chart.png and a dated copy here (default "+defaultResults+", or "+defaultResults+"/OS for DOCKAH_BOX_OS=OS)")
	flag.Parse()
	box.TearDownOnSignal(logf)
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "suite: %v\n", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "suite: "+format+"\n", args...)
}

func run(o options) error {
	if o.cold < 1 || o.rounds < 1 || o.runs < 1 {
		return fmt.Errorf("-n, -rounds and -runs must be at least 1")
	}
	started := time.Now()
	m := readMachine()
	b, err := box.Boot(box.Options{Log: logf})
	if err != nil {
		return err
	}
	defer func() {
		if err := b.Close(); err != nil {
			logf("teardown: %v", err)
		}
	}()
	o.out = resultsDir(o.out, b.OS())
	s := &suite{box: b, opts: o, machine: m}
	if err := s.setup(); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	s.durations, err = runSteps("", []step{
		{"cold and warm first byte", s.measureLatency},
		{"resident memory besides the container", s.measureMemory},
		{"start-to-exit of /bin/true", s.measureExit},
		{"disk used by ten containers", s.measureDisk},
	})
	if err != nil {
		return err
	}
	s.versions = readVersions(b)
	s.machine.loadEnd = loadAverage()
	s.elapsed = time.Since(started)
	return s.write()
}

// step is one named step of the setup or of the measurements.
type step struct {
	name string
	fn   func() error
}

// phaseTime is how long a step took.
type phaseTime struct {
	name string
	d    time.Duration
}

// runSteps runs steps in order, logging each with prefix, and returns how
// long each took; it stops at the first error.
func runSteps(prefix string, steps []step) ([]phaseTime, error) {
	var times []phaseTime
	for _, st := range steps {
		logf("%s%s", prefix, st.name)
		t0 := time.Now()
		if err := st.fn(); err != nil {
			return times, fmt.Errorf("%s: %w", st.name, err)
		}
		times = append(times, phaseTime{st.name, time.Since(t0)})
	}
	return times, nil
}

// write renders the report and the chart into the results directory and a
// dated copy, and prints the report.
func (s *suite) write() error {
	stamp := s.machine.start.UTC().Format("2006-01-02T1504Z")
	dated := filepath.Join(s.opts.out, stamp)
	if err := os.MkdirAll(dated, 0o755); err != nil {
		return err
	}
	report := s.render()
	for _, dir := range []string{s.opts.out, dated} {
		if err := os.WriteFile(filepath.Join(dir, "REPORT.md"), []byte(report), 0o644); err != nil {
			return err
		}
		if err := s.chart(filepath.Join(dir, "chart.png")); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
	}
	if err := s.writeSamples(filepath.Join(dated, "samples.json")); err != nil {
		return err
	}
	fmt.Print(report)
	logf("report: %s (copy in %s)", filepath.Join(s.opts.out, "REPORT.md"), dated)
	return nil
}
