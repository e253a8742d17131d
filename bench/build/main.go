// Command build measures dockah build against buildah bud on the same
// small multi-step Containerfile and context, in one run: a cold build
// (--no-cache: every step runs) and a fully cached one (nothing changed
// since the last build). It boots a systemd box (tests/box), where both
// tools run as root with their own stores, and needs root; `make bench`
// runs it and writes bench/results/BUILD.md.
//
// Buildah runs with its defaults for RUN (OCI isolation, crun) where the
// box's cgroup layout lets crun run, chroot isolation otherwise (the
// report says which), and with --layers, which is what caches its steps.
// Its storage (overlay) is beside dockah's store, on the host's real
// filesystem (the box's / is an overlayfs, which overlay cannot stack on).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/dockah/dockah/bench/measure"
	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// containerfile is the file both tools build: two stages, ARG, ENV,
// WORKDIR, two COPYs, three RUNs, config instructions.
const containerfile = `FROM busybox:bench AS build
ARG FLAVOUR=plain
ENV OUT=/app/out
WORKDIR /app
COPY src/ ./src/
RUN mkdir -p $OUT && for f in src/*; do sed "s/@FLAVOUR@/$FLAVOUR/" "$f" > "$OUT/$(basename "$f").built"; done
RUN ls $OUT | wc -l > $OUT/count

FROM busybox:bench
COPY --from=build /app/out /srv/app/
RUN chmod -R a+rX /srv/app
LABEL org.example.bench=build
EXPOSE 8080
USER app
WORKDIR /srv/app
CMD ["cat", "count"]
`

const ctxDir = "/opt/bench-build/ctx"

type tool struct {
	name string
	cold []string // the command of a cold build
	warm []string // the command of a cached one
}

func main() {
	n := flag.Int("n", 8, "builds per tool and kind")
	out := flag.String("out", "bench/results/BUILD.md", "write the report here too")
	flag.Parse()
	if err := run(*n, *out); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n", err)
		os.Exit(1)
	}
}

func run(n int, out string) error {
	b, err := box.Boot(box.Options{Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	if err != nil {
		return err
	}
	defer b.Close()
	isolation, err := setup(b)
	if err != nil {
		return err
	}
	bh := []string{"buildah", "--root", "/var/lib/dockah/bench-buildah", "--runroot", "/run/bench-buildah", "--storage-driver", "overlay",
		"bud", "-q", "--layers", "--isolation", isolation, "--format", "docker", "-t", "bench:buildah", ctxDir}
	tools := []tool{
		{"dockah build", []string{"dockah", "build", "-q", "--no-cache", "-t", "bench:dockah", ctxDir}, []string{"dockah", "build", "-q", "-t", "bench:dockah", ctxDir}},
		{"buildah bud", append(slice(bh[:len(bh)-1]), "--no-cache", ctxDir), bh},
	}
	times := map[string][]time.Duration{}
	for i := 0; i < n; i++ {
		for _, t := range tools { // interleaved: cold, then cached on top of it
			for _, k := range []struct {
				kind string
				args []string
			}{{"cold", t.cold}, {"cached", t.warm}} {
				d, err := timed(b, k.args)
				if err != nil {
					return fmt.Errorf("%s (%s): %w", t.name, k.kind, err)
				}
				times[t.name+"/"+k.kind] = append(times[t.name+"/"+k.kind], d)
			}
		}
	}
	report := render(tools, times, n, isolation, string(b.Layout()))
	fmt.Print(report)
	return os.WriteFile(out, []byte(report), 0o644)
}

func slice(s []string) []string { return append([]string(nil), s...) }

// timed runs a command in the box and returns how long it took.
func timed(b *box.Box, args []string) (time.Duration, error) {
	t0 := time.Now()
	out, err := b.Run(args...)
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return d, nil
}

// setup imports the base image into both stores, writes the context and
// finds the isolation buildah can use.
func setup(b *box.Box) (string, error) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return "", fmt.Errorf("needs busybox (busybox-static): %w", err)
	}
	entries := []images.Entry{
		{Name: "bin", Dir: true}, {Name: "bin/busybox", Source: busybox}, {Name: "etc", Dir: true},
		{Name: "etc/passwd", Data: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"), Mode: 0o644},
		{Name: "etc/group", Data: []byte("root:x:0:\napp:x:1000:\n"), Mode: 0o644},
	}
	for _, a := range []string{"sh", "ls", "wc", "sed", "mkdir", "chmod", "cat", "basename", "true"} {
		entries = append(entries, images.Entry{Name: "bin/" + a, Link: "busybox"})
	}
	if err := images.WriteTar(b.Path("/opt/bench-build/busybox.tar"), entries); err != nil {
		return "", err
	}
	files := map[string]string{ctxDir + "/Containerfile": containerfile}
	for i := range 20 {
		files[fmt.Sprintf("%s/src/file%02d.txt", ctxDir, i)] = strings.Repeat(fmt.Sprintf("line %d of a @FLAVOUR@ file\n", i), 200)
	}
	for p, text := range files {
		if err := b.WriteFile(p, []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	for _, args := range [][]string{
		{"dockah", "image", "import", "-q", "/opt/bench-build/busybox.tar", "--name", "busybox:bench", "--cmd", "sh"},
		{"dockah", "image", "save", "--format", "docker-archive", "busybox:bench", "-o", "/opt/bench-build/base.tar"},
		{"buildah", "--root", "/var/lib/dockah/bench-buildah", "--runroot", "/run/bench-buildah", "--storage-driver", "overlay", "pull", "-q", "docker-archive:/opt/bench-build/base.tar"},
	} {
		if out, err := b.Run(args...); err != nil {
			return "", fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	probe := []string{"buildah", "--root", "/var/lib/dockah/bench-buildah", "--runroot", "/run/bench-buildah", "--storage-driver", "overlay",
		"bud", "-q", "--isolation", "oci", "-t", "bench:probe", ctxDir}
	if _, err := b.Run(probe...); err == nil {
		return "oci", nil
	}
	return "chroot", nil
}

func render(tools []tool, times map[string][]time.Duration, n int, isolation, layout string) string {
	var sb strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&sb, "# dockah build against buildah bud\n\nRun %s by `make bench` (bench/build), in a systemd box (cgroup layout %s); load average at the end: %s.\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), layout, strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintf(&sb, "%d builds per tool and kind, interleaved (each cold build followed by a cached one). The same Containerfile and context (two stages, 15 instructions, 3 RUNs, 20 files of 6 KiB copied) on the same busybox base image; buildah with --layers, --format docker, and --isolation %s.\n\n", n, isolation)
	fmt.Fprintf(&sb, "| tool | build | median | min | max |\n|---|---|---|---|---|\n")
	for _, t := range tools {
		for _, kind := range []string{"cold", "cached"} {
			ds := times[t.name+"/"+kind]
			lo, hi := ds[0], ds[0]
			for _, d := range ds {
				lo, hi = min(lo, d), max(hi, d)
			}
			fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s |\n", t.name, kind, ms(measure.Quantile(ds, 0.5)), ms(lo), ms(hi))
		}
	}
	sb.WriteString("\nCold: `--no-cache`, every step runs (the base image is in the store). Cached: the same build again, nothing changed: every step is found in the cache.\n\n```\n" + containerfile + "```\n")
	return sb.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
