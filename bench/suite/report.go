package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

func (s *suite) render() string {
	var sb strings.Builder
	s.renderHeader(&sb)
	s.renderSummary(&sb)
	s.renderGoals(&sb)
	s.renderSandbox(&sb)
	s.renderWhat(&sb)
	s.renderMethod(&sb)
	s.renderDisk(&sb)
	s.renderNotes(&sb)
	s.renderVersions(&sb)
	return sb.String()
}

func (s *suite) renderHeader(sb *strings.Builder) {
	m := s.machine
	fmt.Fprintf(sb, "# dockah and its peers: the benchmark suite\n\n")
	fmt.Fprintf(sb, "Run %s, in %s (", m.start.UTC().Format("2006-01-02 15:04 MST"), s.elapsed.Round(time.Second))
	for i, p := range s.durations {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(sb, "%s %s", p.name, p.d.Round(time.Second))
	}
	fmt.Fprintf(sb, "), by `make bench` (bench/suite).\n\n")
	fmt.Fprintf(sb, "- Machine: Linux %s, %d CPUs (%s), %s memory, %s.\n", m.kernel, m.cpus, m.cpu, m.memory, m.debian)
	fmt.Fprintf(sb, "- Load average (1, 5, 15 min): **%s** at the start, **%s** at the end. The machine is shared; figures are medians of interleaved samples.\n", m.loadStart, m.loadEnd)
	fmt.Fprintf(sb, "- Everything runs in one systemd box (tests/box: %s), cgroup layout %s, on one image: the hello server (bin/hello, static Go) as entrypoint, busybox for `/bin/true`.\n\n", boxTree(s.box.OS()), s.box.Layout())
}

func (s *suite) renderSummary(sb *strings.Builder) {
	floor := s.variants[0]
	sb.WriteString("| variant | cold first byte, median | cold p90 | cold / floor | warm median | start-to-exit, median | start-to-exit p90 | exit / floor | resident besides the container, PSS (RSS) | disk, ten containers |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, v := range s.variants {
		cold := []string{ms(v.cold, 0.5), ms(v.cold, 0.9), ratio(v.cold, floor.cold), ms(v.warm, 0.5)}
		if v.coldFailed {
			cold = []string{"failed (notes)", "—", "—", "—"}
		}
		exit := []string{ms(v.exit, 0.5), ms(v.exit, 0.9), ratio(v.exit, floor.exit)}
		if v.exitFailed {
			exit = []string{"failed (notes)", "—", "—"}
		}
		fmt.Fprintf(sb, "| %s | %s | %s | %s | %s |\n", v.name, strings.Join(cold, " | "), strings.Join(exit, " | "), memCell(v), s.diskCell(v))
	}
	fmt.Fprintf(sb, "\n%d cold and %d warm samples per served variant; %d start-to-exit runs per command (%d rounds of %d). ", s.opts.cold, s.opts.cold, s.opts.rounds*s.opts.runs, s.opts.rounds, s.opts.runs)
	sb.WriteString("— means not measured for that variant (see what runs).\n\n![cold first byte and start-to-exit](chart.png)\n\n")
}

func memCell(v *variant) string {
	switch {
	case v.mem == nil:
		return "—"
	case v.floor:
		return fmt.Sprintf("— (the server itself: %s)", kib(v.mem.pss()))
	case len(v.mem.helpers) == 0:
		return "0 (nothing)"
	}
	return fmt.Sprintf("%s (%s): %s", kib(v.mem.pss()), kib(v.mem.rss()), v.mem.names())
}

func kib(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%.1f MiB", float64(n)/1024)
	}
	return fmt.Sprintf("%d KiB", n)
}

func (s *suite) diskCell(v *variant) string {
	d := s.diskFor(v)
	if d == nil {
		return "—"
	}
	if d.image > 0 {
		return fmt.Sprintf("%s (+ image %s once)", mib(d.ten), mib(d.image))
	}
	return mib(d.ten)
}

func (s *suite) renderWhat(sb *strings.Builder) {
	sb.WriteString("## What runs\n\n| variant | what runs |\n|---|---|\n")
	for _, v := range s.variants {
		fmt.Fprintf(sb, "| %s | %s |\n", v.name, v.note)
	}
	sb.WriteString("\n")
}

func (s *suite) renderMethod(sb *strings.Builder) {
	sb.WriteString(`## How each figure is taken

- **Cold first byte**: the service stopped (` + "`systemctl stop`" + `, waited until inactive), its socket unit listening on 127.0.0.1; the suite connects from the host, sends ` + "`GET /`" + ` and times connect to the first byte of the answer. One warm-up start per variant, then rounds: every variant stopped, 300 ms of rest (so that no start overlaps the teardown of the container it replaces, as after an idle stop), then one sample per variant in turn, in an order that rotates from round to round, so drift hits all alike. **Warm**: a new connection to the running server.
- **Start-to-exit**: ` + "`hyperfine -N`" + ` inside the box, as a transient service of the box's systemd (` + "`systemd-run --wait --pipe -p Delegate=yes`" + `), 2 warm-up runs per command and round; the order of the commands rotates from round to round. dockah: ` + "`dockah-activate bench-true`" + ` by hand (no NOTIFY_SOCKET, so it waits for the container and exits with its status), a definition of the same image with ` + "`entrypoint = [\"/bin/true\"]`" + `; dockah-run: ` + "`dockah run --rm`" + ` of the image tagged with /bin/true as entrypoint (same layer); crun, runc: ` + "`run`" + ` of a bundle made from ` + "`dockah spec bench-true`" + `; podman: ` + "`podman run --rm`" + `; nspawn: systemd-nspawn with /bin/true; floor: /bin/true of the image run directly.
- **Resident memory besides the container**: while every served variant runs idle after the warm samples, every process in its unit's cgroup and the cgroups below it is listed; those in another pid namespace are the container's own and left out, the others (runtimes, monitors, shims) are summed from ` + "`/proc/PID/smaps_rollup`" + ` (PSS, and RSS in brackets). runc moves the container into a cgroup of its own and stays in the unit's; podman's conmon stays in the unit's (` + "`--cgroups=no-conmon`" + `) and the container goes to a scope.
- **Disk**: ten containers of the image made with each tool as its user would, on the same file system (the host's disk); ` + "`du -s --block-size=1`" + ` (allocated blocks) of what they add, and the image stored once where the tool shares it:

`)
}

func (s *suite) renderDisk(sb *strings.Builder) {
	sb.WriteString("| tool | ten containers add | image, stored once | how |\n|---|---|---|---|\n")
	for _, d := range s.disk {
		image := "— (a copy in each)"
		if d.image > 0 {
			image = mib(d.image)
		}
		how := d.how
		if d.alt > 0 {
			how += fmt.Sprintf("; ten overlay bundles over one shared tree instead (an upper, a work dir and config.json each) add %s", mib(d.alt))
		}
		fmt.Fprintf(sb, "| %s | %s | %s | %s |\n", d.label, mib(d.ten), image, how)
	}
	sb.WriteString("\n")
}

func (s *suite) renderNotes(sb *strings.Builder) {
	sb.WriteString("## Notes\n\n")
	for _, v := range s.variants {
		if len(v.failures) > 0 {
			fmt.Fprintf(sb, "- %s failed here and is left out of %s.\n", v.name, strings.Join(v.failures, "; "))
		}
	}
	if s.podman.note != "" {
		fmt.Fprintf(sb, "- %s.\n", s.podman.note)
	}
	if s.machined != nil && len(s.machined.helpers) > 0 {
		fmt.Fprintf(sb, "- dockah registers each container with systemd-machined (a system service shared by all containers and nspawn machines, started on demand): %s PSS (%s RSS) while the containers ran.\n",
			kib(s.machined.pss()), kib(s.machined.rss()))
	}
	if s.runLeftovers > 0 {
		fmt.Fprintf(sb, "- `dockah run --rm` left %d writable layers (`/var/lib/dockah/containers/run-*`) behind after its %d runs (a probe and the warm-ups included): `--rm` does not remove them.\n",
			s.runLeftovers, s.opts.rounds*(s.opts.runs+2)+1)
	}
	sb.WriteString("- Podman's storage is `/var/lib/containers` bound to a folder on the host's disk; all runtimes read the image from that same file system.\n\n")
}

func (s *suite) renderVersions(sb *strings.Builder) {
	sb.WriteString("## Versions\n\n")
	for _, v := range s.versions {
		fmt.Fprintf(sb, "- %s: %s\n", v.tool, v.line)
	}
}

// writeSamples writes every sample in milliseconds, for later analysis.
func (s *suite) writeSamples(path string) error {
	type row struct {
		Name    string    `json:"name"`
		ColdMS  []float64 `json:"cold_ms,omitempty"`
		WarmMS  []float64 `json:"warm_ms,omitempty"`
		ExitMS  []float64 `json:"exit_ms,omitempty"`
		PSSKiB  int       `json:"pss_kib"`
		RSSKiB  int       `json:"rss_kib"`
		Helpers string    `json:"helpers,omitempty"`
	}
	conv := func(ds []time.Duration) []float64 {
		out := make([]float64, len(ds))
		for i, d := range ds {
			out[i] = msf(d)
		}
		return out
	}
	var rows []row
	for _, v := range s.variants {
		r := row{Name: v.name, ColdMS: conv(v.cold), WarmMS: conv(v.warm), ExitMS: conv(v.exit)}
		if v.mem != nil {
			r.PSSKiB, r.RSSKiB, r.Helpers = v.mem.pss(), v.mem.rss(), v.mem.names()
		}
		rows = append(rows, r)
	}
	data, err := json.MarshalIndent(map[string]any{"machine": s.machine.summary(), "variants": rows}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func (m machine) summary() map[string]string {
	return map[string]string{"start": m.start.UTC().Format(time.RFC3339), "kernel": m.kernel, "cpu": m.cpu,
		"cpus": fmt.Sprint(m.cpus), "memory": m.memory, "load_start": m.loadStart, "load_end": m.loadEnd}
}
