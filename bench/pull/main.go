// Command pull measures `dockah pull` against its peers on one image of a
// few hundred MiB in four gzip layers, served by a docker-registry on
// 127.0.0.1 over plain HTTP:
//
//   - dockah pull;
//   - podman pull (overlay storage, or vfs where overlay fails);
//   - skopeo copy into an OCI layout, then dockah image import of it;
//
// each into a fresh store, in interleaved order, after a warm-up round.
// Then the shared-base case: with the first image in the store, the pull
// of a second image that adds one small layer to it, with the bytes the
// registry served per blob (counted by a reverse proxy in front of it).
// It writes bench/results/PULL.md, a dated copy with the raw samples, and
// prints the report. Pulls need no systemd, so neither does this.
//
// Run it as root from the top of the checkout:
//
//	go run ./bench/pull          # -n runs per tool (5); -h for the flags
//
// It needs docker-registry, skopeo, podman, unshare and mkfs.ext4; the
// first run also needs mmdebstrap and the Debian mirror, to build the
// image (one to three minutes), which it keeps in -cache. The stores go on
// a fresh ext4 on a loop device (-loop), the same for every tool whatever
// the host's file system. podman and skopeo run in a private mount
// namespace with a tmpfs over /var/lib/containers, so that the host's
// blob-info cache and storage are never touched.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

type options struct {
	n, shared  int
	cache, tmp string
	loop       bool
	dockah     string
	out        string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 5, "cold pulls per tool, after one warm-up round")
	flag.IntVar(&o.shared, "shared", 3, "runs of the shared-base case per tool")
	flag.StringVar(&o.cache, "cache", "/var/cache/dockah-bench/pull", "where the built image is kept between runs")
	flag.StringVar(&o.tmp, "tmp", "/var/tmp", "where the stores, the registry and the layouts of a run go")
	flag.BoolVar(&o.loop, "loop", true, "put the stores on a fresh ext4 (with a journal) on a loop device in -tmp, not in -tmp itself")
	flag.StringVar(&o.dockah, "dockah", "", "dockah binary to measure (default: go build ./cmd/dockah into the run's directory)")
	flag.StringVar(&o.out, "out", "bench/results", "write PULL.md here, and a dated copy below it")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "pull: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pull: "+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root: podman and the mount namespaces need it")
	}
	start, load := time.Now(), loadavg()
	work, err := os.MkdirTemp(o.tmp, "dockah-bench-pull-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dockahNote := o.dockah
	if o.dockah == "" {
		o.dockah, dockahNote = filepath.Join(work, "dockah"), "built from the working tree with -tags netgo,osusergo"
		if err := buildDockah(ctx, o.dockah); err != nil {
			return err
		}
	}
	img, err := buildImage(ctx, o.cache)
	if err != nil {
		return fmt.Errorf("build the image: %w", err)
	}
	stores, fsNote := work, "directories in "+o.tmp
	if o.loop {
		stores, fsNote = filepath.Join(work, "fs"), "a fresh ext4 with a journal (mkfs.ext4's defaults) on a loop device backed by a file in "+o.tmp
		unmount, err := mountLoop(ctx, filepath.Join(work, "fs.img"), stores)
		if err != nil {
			return err
		}
		defer unmount()
	}
	reg, err := startRegistry(filepath.Join(work, "registry"))
	if err != nil {
		return err
	}
	defer reg.stop()
	runRoot, err := os.MkdirTemp("/tmp", "dockah-pull-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(runRoot)
	b := &bench{dockah: o.dockah, host: reg.host, proxy: reg.proxy, counter: reg.counter, nsTarget: nsTarget(), runRoot: runRoot}
	if err := b.push(ctx, img, reg); err != nil {
		return err
	}
	cold, err := b.cold(ctx, stores, o.n)
	if err != nil {
		return err
	}
	shared, err := b.sharedBase(ctx, stores, o.shared)
	if err != nil {
		return err
	}
	r := &report{start: start, elapsed: time.Since(start), n: o.n, img: img, cold: cold, shared: shared,
		podmanDriver: b.podmanDriver, podmanNote: b.podmanNote, dockah: dockahNote, fs: fsNote, load: load}
	return r.write(o.out)
}

// buildDockah builds ./cmd/dockah into path with the Makefile's tags,
// linked dynamically, which pull does not mind.
func buildDockah(ctx context.Context, path string) error {
	logf("building %s", path)
	build := exec.CommandContext(ctx, goBinary(), "build", "-tags", "netgo,osusergo", "-o", path, "./cmd/dockah")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/dockah: %w\n%s", err, out)
	}
	return nil
}

// push copies the layout's two images to the registry with skopeo and
// checks that the registry got the layers as built.
func (b *bench) push(ctx context.Context, img *imageInfo, reg *registry) error {
	for _, p := range []struct{ tag, repo string }{{"big", bigRef}, {"app", appRef}} {
		logf("pushing %s", p.repo)
		if _, err := b.exec(ctx, true, "skopeo", "copy", "--quiet", "--dest-tls-verify=false",
			"oci:"+img.Layout+":"+p.tag, "docker://"+reg.host+"/"+p.repo); err != nil {
			return fmt.Errorf("push %s: %w", p.repo, err)
		}
	}
	return reg.checkManifest(bigRef, img.Layers[:len(img.Layers)-1])
}

// mountLoop makes a sparse file img into a fresh ext4 and mounts it on
// dir. A host's ext4 without a journal, as on some VMs, makes every file
// creation scan the inodes deleted in the last half minute
// (recently_deleted in fs/ext4/ialloc.c), so that a run would pay for
// the removal of the run before it, and for other users' removals.
func mountLoop(ctx context.Context, img, dir string) (func(), error) {
	f, err := os.Create(img)
	if err != nil {
		return nil, err
	}
	err = errors.Join(f.Truncate(16<<30), f.Close(), os.MkdirAll(dir, 0o700))
	if err != nil {
		return nil, err
	}
	// Inode tables and journal written now, not by ext4lazyinit during the runs.
	for _, argv := range [][]string{{"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img}, {"mount", "-o", "loop", img, dir}} {
		if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", argv[0], err, out)
		}
	}
	logf("stores on an ext4 on a loop device at %s", dir)
	return func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			logf("umount %s: %v %s", dir, err, out)
		}
	}, nil
}

// goBinary is the go command: on PATH, or where go.dev's tarball puts it.
func goBinary() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}
