package box

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TreeCache is where the harness keeps the trees it builds, one directory
// per tree and recipe (debian13-KEY). DOCKAH_BOX_CACHE overrides it.
const TreeCache = "/var/cache/dockah-boxes"

// treeBuildTimeout bounds one mmdebstrap run (about 20 s with a near
// mirror).
const treeBuildTimeout = 15 * time.Minute

// tree is how the harness builds an OS tree with mmdebstrap.
type tree struct {
	name     string // prefix of its directory in the cache
	suite    string
	packages []string
}

// debian13 is what a box needs of Debian 13 beyond its essential
// packages: what the tests and the benchmark run inside the box
// (dockah's binaries are static and come from "make install"); clients
// of the services under test (curl, psql, redis-cli) run on the host.
var debian13 = tree{
	name:  "debian13",
	suite: "trixie",
	packages: []string{
		// The engine under test: systemctl, journalctl, systemd-analyze,
		// systemd-run, systemd-socket-proxyd.
		"systemd",
		// systemd-machined and machinectl; systemd-nspawn for the
		// benchmark. machined needs the system bus.
		"systemd-container", "dbus",
		// dockah top runs ps; the tests run ss and curl.
		"procps", "iproute2", "curl",
		// The benchmark's peers and its timer.
		"crun", "runc", "podman", "hyperfine",
		// tests/build reads dockah build's images with them.
		"skopeo", "buildah",
	},
}

// treeFor returns the recipe of an OS tree, or false for the host's root.
func treeFor(o OS) (tree, bool) {
	if o == Debian13 {
		return debian13, true
	}
	return tree{}, false
}

// mirrors returns the Debian archive and its security archive, the same
// variables and defaults as contrib/images/build ("none" leaves the
// security archive out).
func mirrors() (mirror, security string) {
	mirror, security = os.Getenv("DOCKAH_DEBIAN_MIRROR"), os.Getenv("DOCKAH_DEBIAN_SECURITY")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	if security == "" {
		security = "http://deb.debian.org/debian-security"
	}
	return mirror, security
}

// args returns mmdebstrap's arguments that build the tree at dir.
func (tr tree) args(dir string) []string {
	mirror, security := mirrors()
	sources := []string{
		fmt.Sprintf("deb %s %s main", mirror, tr.suite),
		fmt.Sprintf("deb %s %s-updates main", mirror, tr.suite),
	}
	if security != "none" {
		sources = append(sources, fmt.Sprintf("deb %s %s-security main", security, tr.suite))
	}
	args := []string{
		"--quiet",
		"--mode=root",
		"--variant=essential",
		"--include=" + strings.Join(tr.packages, ","),
		`--aptopt=APT::Install-Recommends "false"`,
		// The build host's name and resolver stay out: nspawn gives
		// the box its own.
		`--customize-hook=rm -f "$1/etc/hostname" "$1/etc/resolv.conf"`,
		tr.suite, dir,
	}
	return append(args, sources...)
}

// key is a digest of everything the tree is made of: a change of the
// package list, the suite or the mirrors builds a new one.
func (tr tree) key() string {
	sum := sha256.Sum256([]byte(strings.Join(tr.args("DIR"), "\n")))
	return hex.EncodeToString(sum[:8])
}

func treeCache() string {
	if d := os.Getenv("DOCKAH_BOX_CACHE"); d != "" {
		return d
	}
	return TreeCache
}

// lockTree returns the directory of the tree, building it first unless
// the cache has it, with the cache's lock held: the caller mounts it, then
// calls unlock. Builds are one at a time, and trees of other recipes are
// removed when no box uses them.
func lockTree(tr tree, logf func(string, ...any)) (dir string, unlock func(), err error) {
	cache := treeCache()
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", nil, err
	}
	lock, err := os.OpenFile(filepath.Join(cache, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		lock.Close()
		return "", nil, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	unlock = func() { lock.Close() } // closing the file drops the flock
	dir = filepath.Join(cache, tr.name+"-"+tr.key())
	if _, err := os.Stat(filepath.Join(dir, "usr/lib/os-release")); err == nil {
		return dir, unlock, nil
	}
	if err := pruneTrees(cache, tr.name, dir); err != nil {
		unlock()
		return "", nil, err
	}
	if err := tr.build(dir, logf); err != nil {
		unlock()
		return "", nil, err
	}
	return dir, unlock, nil
}

// build runs mmdebstrap into a temporary directory beside dir and renames
// it to dir when it is complete.
func (tr tree) build(dir string, logf func(string, ...any)) error {
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return fmt.Errorf("a %s box needs mmdebstrap to build its tree (Debian package mmdebstrap; make deps installs it)", tr.name)
	}
	tmp := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp")
	logf("box: building the %s tree (%s) with mmdebstrap into %s", tr.name, strings.Join(tr.packages, " "), dir)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), treeBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mmdebstrap", tr.args(tmp)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	// If the test binary dies, mmdebstrap goes too; the next build
	// removes what it left.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		_ = teardownDir(tmp)
		mirror, _ := mirrors()
		return fmt.Errorf("mmdebstrap %s (it needs the Debian mirror %s): %w\n%s", tr.suite, mirror, err, tail(out.String(), 3000))
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = teardownDir(tmp)
		return err
	}
	logf("box: built the %s tree in %s (%s)", tr.name, time.Since(start).Round(100*time.Millisecond), du(dir))
	return nil
}

// pruneTrees removes the directories in cache of trees named name other
// than keep, unless a mounted overlay has them as a lower layer (a box of
// another checkout still runs on it), and what interrupted builds left.
// The cache's lock is held, and every box mounts its tree under it.
func pruneTrees(cache, name, keep string) error {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return err
	}
	used, err := lowerDirs()
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(cache, e.Name())
		n := strings.TrimPrefix(e.Name(), ".")
		if !e.IsDir() || p == keep || !strings.HasPrefix(n, name+"-") || used[p] {
			continue
		}
		if err := teardownDir(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lowerDirs returns the lower layers of the overlays mounted here.
func lowerDirs() (map[string]bool, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return parseLowerDirs(string(data)), nil
}

// parseLowerDirs returns the lower layers named in mountinfo lines.
func parseLowerDirs(mountinfo string) map[string]bool {
	used := map[string]bool{}
	for _, line := range strings.Split(mountinfo, "\n") {
		_, after, ok := strings.Cut(line, " - overlay ")
		if !ok {
			continue
		}
		for _, opt := range strings.Split(after, ",") {
			if lower, ok := strings.CutPrefix(opt, "lowerdir="); ok {
				for _, d := range strings.Split(lower, ":") {
					used[d] = true
				}
			}
		}
	}
	return used
}

// du returns the size of the tree at dir, as du -sh prints it.
func du(dir string) string {
	out, err := exec.Command("du", "-sh", dir).Output()
	if err != nil {
		return "size unknown"
	}
	size, _, _ := strings.Cut(string(out), "\t")
	return size
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
