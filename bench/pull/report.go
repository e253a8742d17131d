package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/dockah/dockah/bench/measure"
)

type report struct {
	start        time.Time
	elapsed      time.Duration
	n            int
	img          *imageInfo
	cold         map[string][]sample
	shared       map[string]*sharedResult
	podmanDriver string
	podmanNote   string
	dockah       string
	fs           string // where the stores went
	load         string // load average at the start
}

// write puts PULL.md into dir and, with the raw samples, into a dated
// directory below it, and prints the report.
func (r *report) write(dir string) error {
	text := r.render()
	dated := filepath.Join(dir, r.start.UTC().Format("2006-01-02T1504Z"))
	if err := os.MkdirAll(dated, 0o755); err != nil {
		return err
	}
	for _, d := range []string{dir, dated} {
		if err := os.WriteFile(filepath.Join(d, "PULL.md"), []byte(text), 0o644); err != nil {
			return err
		}
	}
	raw, _ := json.MarshalIndent(map[string]any{"cold": r.cold, "shared": r.shared, "image": r.img}, "", " ")
	if err := os.WriteFile(filepath.Join(dated, "pull-samples.json"), raw, 0o644); err != nil {
		return err
	}
	fmt.Print(text)
	logf("report: %s (copy in %s)", filepath.Join(dir, "PULL.md"), dated)
	return nil
}

func (r *report) render() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	r.renderImage(p)
	r.renderCold(p)
	r.renderShared(p)
	return b.String()
}

// renderImage writes the title, the machine and the image.
func (r *report) renderImage(p func(string, ...any)) {
	big := r.img.Layers[:len(r.img.Layers)-1]
	p("# Pulling an image: dockah against podman and skopeo\n\n")
	p("Run %s by `go run ./bench/pull`, in %s; load average at the start: %s, at the end: %s.\n", r.start.UTC().Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second), r.load, loadavg())
	var memKiB float64
	fmt.Sscanf(procField("/proc/meminfo", "MemTotal"), "%f", &memKiB)
	p("Machine: %d CPUs (%s), %.1f GiB memory, kernel %s; stores and layouts on %s.\n", runtime.NumCPU(), procField("/proc/cpuinfo", "model name"), memKiB/(1<<20), firstLine("uname", "-r"), r.fs)
	p("dockah %s (%s); %s; skopeo %s; docker-registry %s.\n\n", firstLine("git", "describe", "--always", "--dirty"), r.dockah, firstLine("podman", "--version"), lastWord(firstLine("skopeo", "--version")), lastWord(firstLine("docker-registry", "--version")))

	p("## The image\n\n`%s`: Debian %s minbase with %s, made by mmdebstrap, cut into %d gzip layers (every directory in the base layer), OCI manifest; pushed with skopeo to a docker-registry on 127.0.0.1, plain HTTP.\n\n", bigRef, suite, strings.Join(r.img.Packages, ", "), len(big))
	p("| layer | compressed | uncompressed | entries |\n|---|---:|---:|---:|\n")
	var size, usize int64
	var entries int
	for _, l := range big {
		p("| %s | %s | %s | %d |\n", l.Name, mib(l.Size), mib(l.USize), l.Entries)
		size, usize, entries = size+l.Size, usize+l.USize, entries+l.Entries
	}
	p("| **all %d** | **%s** | **%s** | %d |\n\n", len(big), mib(size), mib(usize), entries)
	p("Built once in %s (mmdebstrap %s, cutting and gzip %s), kept in the cache (`-cache`); later runs reuse it.\n\n",
		(r.img.Mmdebstrap + r.img.Layering).Round(time.Second), r.img.Mmdebstrap.Round(time.Second), r.img.Layering.Round(time.Second))
}

// renderCold writes the table of the cold pulls.
func (r *report) renderCold(p func(string, ...any)) {
	p("## Cold pull of %s, %d runs per tool\n\n", bigRef, r.n)
	p("| | wall, median | min | max | + syncfs, median | user, median | sys, median | store on disk |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	rows := []struct{ key, label string }{
		{"dockah pull", "dockah pull"},
		{"podman pull", "podman pull (" + r.podmanDriver + ")"},
		{"skopeo copy + dockah image import", "skopeo copy + dockah image import"},
		{"skopeo copy", "  of which skopeo copy (to an OCI layout)"},
		{"dockah image import", "  of which dockah image import (of the layout)"},
	}
	for _, row := range rows {
		s := r.cold[row.key]
		if len(s) == 0 {
			continue
		}
		wall := pick(s, func(x sample) time.Duration { return x.Wall })
		synced, disk := "", ""
		if s[0].Sync > 0 || s[0].Disk > 0 {
			synced = secs(measure.Quantile(pick(s, func(x sample) time.Duration { return x.Wall + x.Sync }), 0.5))
			disk = mib(s[0].Disk)
		}
		p("| %s | **%s** | %s | %s | %s | %s | %s | %s |\n", row.label, secs(measure.Quantile(wall, 0.5)), secs(measure.Quantile(wall, 0)), secs(measure.Quantile(wall, 1)),
			synced, secs(measure.Quantile(pick(s, func(x sample) time.Duration { return x.User }), 0.5)),
			secs(measure.Quantile(pick(s, func(x sample) time.Duration { return x.Sys }), 0.5)), disk)
	}
	p("\nEach run goes into fresh directories; a warm-up round comes first and the order rotates every round. " +
		"The page cache is not dropped between runs (that would reach the whole host): the registry serves its blobs from memory in every run. " +
		"The file system is synced before each run; *+ syncfs* adds a syncfs(2) right after the tool exits, until what it stored is on disk. " +
		"user and sys are the CPU time of the tool and its children. podman and skopeo start through unshare(1) and sh (a private tmpfs over /var/lib/containers), a few ms.\n")
	if r.podmanNote != "" {
		p("\npodman's overlay driver failed here (%s), so podman used vfs.\n", r.podmanNote)
	}
}

// renderShared writes the shared-base case with the bytes per blob.
func (r *report) renderShared(p func(string, ...any)) {
	app := r.img.Layers[len(r.img.Layers)-1]
	p("\n## Shared base: %s after %s\n\n", appRef, bigRef)
	p("`%s` is `%s` plus one layer (%s, %s compressed). With `%s` pulled into a fresh store, the pull of `%s`, %d runs per tool, through a counting proxy in front of the registry:\n\n",
		appRef, bigRef, app.Name, mib(app.Size), bigRef, appRef, len(r.shared["dockah pull"].Times))
	p("| | wall, median | min | max | + syncfs, median | bytes served | requests |\n|---|---:|---:|---:|---:|---:|---:|\n")
	tools := []string{"dockah pull", "podman pull"}
	for _, t := range tools {
		s := r.shared[t]
		wall := pick(s.Times, func(x sample) time.Duration { return x.Wall })
		p("| %s | **%s** | %s | %s | %s | %s | %d |\n", t, secs(measure.Quantile(wall, 0.5)), secs(measure.Quantile(wall, 0)), secs(measure.Quantile(wall, 1)),
			secs(measure.Quantile(pick(s.Times, func(x sample) time.Duration { return x.Wall + x.Sync }), 0.5)), bytesOf(sum(s.Second)), s.Requests)
	}
	p("\nBytes served per blob in the last run (response bodies, counted by the proxy):\n\n| blob | what | size | first pull of %s: dockah | podman | then %s: dockah | podman |\n|---|---|---:|---:|---:|---:|---:|\n", bigRef, appRef)
	known := map[string]bool{}
	blob := func(digest, what string, size int64) {
		known[digest] = true
		shown := ""
		if size > 0 {
			shown = bytesOf(size)
		}
		p("| `%s` | %s | %s |", digest[:19], what, shown)
		for _, t := range tools {
			p(" %s |", bytesOf(r.shared[t].First[digest]))
		}
		for _, t := range tools {
			p(" %s |", bytesOf(r.shared[t].Second[digest]))
		}
		p("\n")
	}
	for _, l := range r.img.Layers {
		blob(l.Digest, "layer "+l.Name, l.Size)
	}
	configs := make([]string, 0, len(r.img.Configs))
	for d := range r.img.Configs {
		configs = append(configs, d)
	}
	sort.Strings(configs)
	for _, d := range configs {
		blob(d, "config of "+r.img.Configs[d], 0)
	}
	p("| | manifests and the rest | |")
	for _, phase := range []func(*sharedResult) map[string]int64{
		func(s *sharedResult) map[string]int64 { return s.First }, func(s *sharedResult) map[string]int64 { return s.Second }} {
		for _, t := range tools {
			var rest int64
			for k, n := range phase(r.shared[t]) {
				if !known[k] {
					rest += n
				}
			}
			p(" %s |", bytesOf(rest))
		}
	}
	p("\n")
}

func pick(s []sample, f func(sample) time.Duration) []time.Duration {
	var out []time.Duration
	for _, x := range s {
		out = append(out, f(x))
	}
	return out
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// bytesOf shows small counts exactly and large ones in MiB.
func bytesOf(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%s (%d B)", mib(n), n)
}

func firstLine(argv ...string) string {
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return "?"
	}
	return f[len(f)-1]
}

// procField is the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
