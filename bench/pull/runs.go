package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sample is one timed command, or the sum of a variant's commands.
type sample struct {
	Wall, User, Sys time.Duration
	Sync            time.Duration `json:",omitempty"` // syncfs after the last command
	Disk            int64         `json:",omitempty"` // bytes the store takes on disk
}

func (s sample) add(t sample) sample {
	return sample{Wall: s.Wall + t.Wall, User: s.User + t.User, Sys: s.Sys + t.Sys}
}

// bench runs the tools against the registry.
type bench struct {
	dockah   string
	host     string // the registry
	proxy    string // the counting proxy in front of it
	counter  *counter
	nsTarget string
	// runRoot holds podman's run roots: podman refuses one longer than
	// 50 characters.
	runRoot string
	// podmanDriver is overlay, or vfs when overlay failed (podmanNote).
	podmanDriver, podmanNote string
}

// A command is one step; argv gets the run's fresh directory.
type command struct {
	name string
	ns   bool // in a mount namespace with a tmpfs over nsTarget
	argv func(dir string) []string
}

// A variant is one way to get the image into a store.
type variant struct {
	name  string
	steps []command
}

func (b *bench) dockahPull(host, ref string) command {
	return command{"dockah pull", false, func(d string) []string {
		return []string{b.dockah, "--root", filepath.Join(d, "store"), "-q", "pull", "--tls-verify=false", host + "/" + ref}
	}}
}

func (b *bench) podmanPull(host, ref string) command {
	return command{"podman pull", true, func(d string) []string {
		return []string{"podman", "--root", filepath.Join(d, "store"), "--runroot", filepath.Join(b.runRoot, filepath.Base(d)),
			"--tmpdir", filepath.Join(d, "tmp"), "--network-config-dir", filepath.Join(d, "net"),
			"--storage-driver", b.podmanDriver, "--events-backend", "none",
			"pull", "--quiet", "--tls-verify=false", host + "/" + ref}
	}}
}

func (b *bench) variants() []variant {
	return []variant{
		{"dockah pull", []command{b.dockahPull(b.host, bigRef)}},
		{"podman pull", []command{b.podmanPull(b.host, bigRef)}},
		{"skopeo copy + dockah image import", []command{
			{"skopeo copy", true, func(d string) []string {
				return []string{"skopeo", "copy", "--quiet", "--src-tls-verify=false",
					"docker://" + b.host + "/" + bigRef, "oci:" + filepath.Join(d, "layout") + ":big"}
			}},
			{"dockah image import", false, func(d string) []string {
				return []string{b.dockah, "--root", filepath.Join(d, "store"), "-q", "image", "import", filepath.Join(d, "layout")}
			}},
		}},
	}
}

// cold runs every variant n times into fresh directories, the order
// rotating each round, after a warm-up round that is not counted. The
// warm-up also finds out whether podman's overlay driver works here.
func (b *bench) cold(ctx context.Context, work string, n int) (map[string][]sample, error) {
	b.podmanDriver = "overlay"
	vs := b.variants()
	out := map[string][]sample{}
	for round := 0; round <= n; round++ {
		for j := range vs {
			v := vs[(round+j)%len(vs)]
			if round == 0 {
				logf("warm-up: %s", v.name)
			} else {
				logf("run %d/%d: %s", round, n, v.name)
			}
			s, err := b.run(ctx, v, filepath.Join(work, "run"))
			if err != nil && round == 0 && v.name == "podman pull" && ctx.Err() == nil {
				b.podmanDriver, b.podmanNote = "vfs", strings.SplitN(err.Error(), "\n", 2)[0]
				logf("podman with overlay failed, using vfs: %v", err)
				s, err = b.run(ctx, v, filepath.Join(work, "run"))
			}
			if err != nil {
				return nil, err
			}
			if round > 0 {
				for k, x := range s {
					out[k] = append(out[k], x)
				}
			}
		}
	}
	return out, nil
}

// run runs v's commands in order in the fresh directory dir, syncs what
// they wrote, and removes dir. It returns the total under v's name and,
// when there are several commands, each under its own.
func (b *bench) run(ctx context.Context, v variant, dir string) (map[string]sample, error) {
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// Start clean: what earlier runs wrote, and their removal, is on disk.
	if err := syncfs(dir); err != nil {
		return nil, err
	}
	out := map[string]sample{}
	var total sample
	for _, c := range v.steps {
		s, err := b.exec(ctx, c.ns, c.argv(dir)...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		if len(v.steps) > 1 {
			out[c.name] = s
		}
		total = total.add(s)
	}
	t0 := time.Now()
	if err := syncfs(dir); err != nil {
		return nil, err
	}
	total.Sync = time.Since(t0)
	total.Disk = diskUsage(filepath.Join(dir, "store"))
	out[v.name] = total
	return out, nil
}

// sharedResult is the shared-base case of one tool.
type sharedResult struct {
	Times    []sample         // of the second pull
	First    map[string]int64 // bytes served per blob for bench/big
	Second   map[string]int64 // for bench/app, with bench/big in the store
	Requests int              // of the second pull
}

// sharedBase pulls bench/big, then times the pull of bench/app, which
// adds one layer to it, through the counting proxy; rounds times per tool.
func (b *bench) sharedBase(ctx context.Context, work string, rounds int) (map[string]*sharedResult, error) {
	out := map[string]*sharedResult{}
	for round := 1; round <= rounds; round++ {
		for _, tool := range []func(host, ref string) command{b.dockahPull, b.podmanPull} {
			first, second := tool(b.proxy, bigRef), tool(b.proxy, appRef)
			logf("shared base %d/%d: %s", round, rounds, first.name)
			if out[first.name] == nil {
				out[first.name] = &sharedResult{}
			}
			if err := b.sharedRun(ctx, first, second, filepath.Join(work, "shared"), out[first.name]); err != nil {
				return nil, fmt.Errorf("shared base: %w", err)
			}
		}
	}
	return out, nil
}

func (b *bench) sharedRun(ctx context.Context, first, second command, dir string, res *sharedResult) error {
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b.counter.reset()
	if _, err := b.exec(ctx, first.ns, first.argv(dir)...); err != nil {
		return fmt.Errorf("%s %s: %w", first.name, bigRef, err)
	}
	res.First, _ = b.counter.snapshot()
	if err := syncfs(dir); err != nil {
		return err
	}
	b.counter.reset()
	s, err := b.exec(ctx, second.ns, second.argv(dir)...)
	if err != nil {
		return fmt.Errorf("%s %s: %w", second.name, appRef, err)
	}
	res.Second, res.Requests = b.counter.snapshot()
	t0 := time.Now()
	err = syncfs(dir)
	s.Sync = time.Since(t0)
	res.Times = append(res.Times, s)
	return err
}

// exec runs argv and times it; ns runs it through unshare(1) in a private
// mount namespace with a tmpfs over b.nsTarget.
func (b *bench) exec(ctx context.Context, ns bool, argv ...string) (sample, error) {
	if ns {
		argv = append([]string{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
			`mount -t tmpfs -o mode=0700 dockah-bench "$0" && exec "$@"`, b.nsTarget}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, tail(out.String()))
	}
	return sample{Wall: wall, User: cmd.ProcessState.UserTime(), Sys: cmd.ProcessState.SystemTime()}, nil
}

// syncfs writes back the dirty data of dir's file system.
func syncfs(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// diskUsage is what the files under dir take on disk, each inode once.
func diskUsage(dir string) int64 {
	seen := map[uint64]bool{}
	var total int64
	filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		var st unix.Stat_t
		if err == nil && unix.Lstat(p, &st) == nil && !seen[st.Ino] {
			seen[st.Ino] = true
			total += st.Blocks * 512
		}
		return nil
	})
	return total
}
