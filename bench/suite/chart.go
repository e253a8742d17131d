package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// chart draws the cold first byte and the start-to-exit medians, with
// p10–p90 whiskers, side by side on log scales, as a PNG, with gnuplot.
func (s *suite) chart(png string) error {
	dir, err := os.MkdirTemp("", "dockah-bench-chart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lowest := time.Hour
	for _, set := range []struct {
		file string
		get  func(*variant) []time.Duration
	}{
		{"cold.dat", func(v *variant) []time.Duration { return v.cold }},
		{"exit.dat", func(v *variant) []time.Duration { return v.exit }},
	} {
		var sb strings.Builder
		for _, v := range s.variants {
			ds := set.get(v)
			if len(ds) == 0 {
				continue
			}
			lowest = min(lowest, quantile(ds, 0.1))
			fmt.Fprintf(&sb, "%q %.3f %.3f %.3f %d\n", v.name, msf(median(ds)), msf(quantile(ds, 0.1)), msf(quantile(ds, 0.9)), barColor(v))
		}
		if err := os.WriteFile(filepath.Join(dir, set.file), []byte(sb.String()), 0o644); err != nil {
			return err
		}
	}
	script := s.gnuplotScript(png, max(msf(lowest)/2, 0.01))
	if err := os.WriteFile(filepath.Join(dir, "chart.gp"), []byte(script), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("gnuplot", "chart.gp")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gnuplot (Debian package gnuplot-nox): %w\n%s", err, out)
	}
	return nil
}

// barColor: dockah's variants stand out, the floor is grey.
func barColor(v *variant) int {
	switch {
	case v.floor:
		return 0x999999
	case strings.HasPrefix(v.name, "dockah"):
		return 0xe45756
	}
	return 0x4c78a8
}

func (s *suite) gnuplotScript(png string, ymin float64) string {
	abs, err := filepath.Abs(png)
	if err != nil {
		abs = png
	}
	title := fmt.Sprintf("dockah and its peers, %s, %d CPUs, load %s at start, %s at end",
		s.machine.start.UTC().Format("2006-01-02 15:04 MST"), s.machine.cpus, s.machine.loadStart, s.machine.loadEnd)
	plot := func(file, heading string) string {
		return fmt.Sprintf(`set title %q
plot '%s' using 0:2:($5):xtic(1) with boxes lc rgb variable notitle, \
     '' using 0:2:3:4 with yerrorbars lc rgb "black" pt 7 ps 0.4 notitle, \
     '' using 0:4:(sprintf("%%.1f", $2)) with labels offset 0,0.9 notitle
`, heading, file)
	}
	return fmt.Sprintf(`set terminal pngcairo size 1400,640 font "sans,10"
set output %q
set multiplot layout 1,2 title %q
set style fill solid 0.7 border -1
set boxwidth 0.6
set grid ytics mytics
set logscale y
set yrange [%g:*]
set ylabel "milliseconds (log scale)"
set xtics rotate by -30 nomirror
set offsets 0.5, 0.5, 0, 0
`, abs, title, ymin) +
		plot("cold.dat", "Cold first byte through socket activation\n(bar and label: median; whiskers: p10 to p90)") +
		plot("exit.dat", "Start-to-exit of /bin/true\n(bar and label: median; whiskers: p10 to p90)") +
		"unset multiplot\n"
}
