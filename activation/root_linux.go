package activation

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// scratch is the private tmpfs a start mounts on the mount point:
// the root is mounted below it, and the generated files live in it. It is
// in the container's mount namespace only and disappears with it.
type scratch struct {
	dir  string // the tmpfs
	root string // where the overlay is mounted, below dir
	seal bool   // make the root read-only once built (read_only = true)
}

// mountScratch isolates the mount namespace from the host and mounts the
// scratch tmpfs and the overlay root.
func mountScratch(cfg *Config, ns *usernsBuild) (*scratch, error) {
	// Nothing mounted from here on may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("make mounts private: %w", err)
	}
	s := &scratch{dir: cfg.MountPoint, root: filepath.Join(cfg.MountPoint, "root")}
	if err := unix.Mount("tmpfs", s.dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=1m"); err != nil {
		return nil, fmt.Errorf("mount scratch tmpfs on %s: %w", s.dir, err)
	}
	if err := os.Mkdir(s.root, 0o755); err != nil {
		return nil, err
	}
	layers := cfg.Root
	if layers.Upper == "" {
		// A read-only root still needs mount points the image may lack
		// (a tmpfs or volume target, the notify socket): they are made
		// in a throwaway upper layer on the scratch tmpfs, and the root
		// is made read-only once everything is mounted (sealRoot).
		layers.Upper, layers.Work = filepath.Join(s.dir, "upper"), filepath.Join(s.dir, "work")
		for _, d := range []string{layers.Upper, layers.Work} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return nil, err
			}
		}
		s.seal = true
	}
	if ns != nil {
		// The scratch tmpfs is the shim's: the container's range cannot
		// reach the layers' copies there (and never sees them).
		var err error
		if layers, err = idmapLayers(layers, s.dir, ns.userns, cfg.UserNS); err != nil {
			return nil, fmt.Errorf("mount root: %w", err)
		}
	}
	if err := mountOverlay(layers, s.root); err != nil {
		return nil, err
	}
	return s, nil
}

// sealRoot makes a read-only root read-only, after the mounts in it.
func (s *scratch) sealRoot() error {
	if !s.seal {
		return nil
	}
	if err := unix.Mount("", s.root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("make the root read-only: %w", err)
	}
	return nil
}

// maxMountData is the most mount(2) copies of its data argument.
const maxMountData = 4096 - 1

// mountOverlay mounts the root filesystem. The root is nodev: device
// nodes only ever come from the fresh /dev.
func mountOverlay(layers RootLayers, target string) error {
	if len(layers.Lower) == 0 {
		return fmt.Errorf("mount root: no image layers")
	}
	lower := layers.Lower
	options := overlayOptions(lower, layers)
	if len(options) > maxMountData {
		// Long layer paths do not fit in one page: mount from their
		// common parent with relative paths, which overlayfs resolves
		// against the working directory.
		common := commonDir(append(append([]string{}, lower...), layers.Upper, layers.Work))
		if err := os.Chdir(common); err != nil {
			return fmt.Errorf("mount root: %w", err)
		}
		defer os.Chdir("/")
		rel := func(p string) string {
			if p == "" {
				return ""
			}
			r, _ := filepath.Rel(common, p)
			return r
		}
		var relLower []string
		for _, l := range lower {
			relLower = append(relLower, rel(l))
		}
		options = overlayOptions(relLower, RootLayers{Upper: rel(layers.Upper), Work: rel(layers.Work), Volatile: layers.Volatile})
		if len(options) > maxMountData {
			return fmt.Errorf("mount root: %d layers are too many for one overlay mount", len(lower))
		}
	}
	err := unix.Mount("overlay", target, "overlay", unix.MS_NODEV, options)
	if err == unix.EINVAL && strings.HasSuffix(options, volatileOption) {
		// A kernel before 5.10 has no volatile mounts.
		err = unix.Mount("overlay", target, "overlay", unix.MS_NODEV, strings.TrimSuffix(options, volatileOption))
	}
	if err != nil {
		return fmt.Errorf("mount root overlay (%d layers): %w", len(lower), err)
	}
	return nil
}

// volatileOption is overlayfs's option for a writable layer nothing syncs.
const volatileOption = ",volatile"

func overlayOptions(lower []string, layers RootLayers) string {
	var b strings.Builder
	b.WriteString("lowerdir=")
	b.WriteString(strings.Join(lower, ":"))
	if layers.Upper != "" {
		b.WriteString(",upperdir=" + layers.Upper + ",workdir=" + layers.Work)
		if layers.Volatile {
			b.WriteString(volatileOption)
		}
	}
	return b.String()
}

// commonDir returns the longest directory that contains every path.
func commonDir(paths []string) string {
	var common string
	for _, p := range paths {
		if p == "" {
			continue
		}
		dir := filepath.Dir(p)
		if common == "" {
			common = dir
			continue
		}
		for common != "/" && dir != common && !strings.HasPrefix(dir, common+"/") {
			common = filepath.Dir(common)
		}
	}
	if common == "" {
		return "/"
	}
	return common
}

// pivotRoot makes the root the process's "/" and detaches the host's
// root, so nothing of the host stays reachable.
func pivotRoot(root int) error {
	if err := unix.Fchdir(root); err != nil {
		return fmt.Errorf("enter root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one at
	// the same place, without needing a put_old directory inside the
	// image; the unmount below then removes the old root.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host root: %w", err)
	}
	return unix.Chdir("/")
}

// buildRoot mounts the root and everything in it, pivots into it and
// returns an O_PATH fd of the new "/". Mounts, masks and read-only paths
// at destinations later says yes to are left out, for the caller to do
// after pivot_root (the /proc of a pid namespace whose pid 1 does not
// exist yet).
// stdin is the fd the container's stdin comes from, for /dev/console.
//
// ns is set for a container with a user namespace (the thread start).
func buildRoot(cfg *Config, later func(dest string) bool, stdin int, ns *usernsBuild) (int, error) {
	s, err := mountScratch(cfg, ns)
	if err != nil {
		return -1, err
	}
	Trace("stage: overlay mounted")
	root, err := unix.Open(s.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open root: %w", err)
	}
	defer unix.Close(root)
	if err := mountAll(root, keep(cfg.Spec.Mounts, func(m specs.Mount) bool { return later == nil || !later(m.Destination) }), ns); err != nil {
		return -1, err
	}
	Trace("stage: mounts done")
	if err := populateDev(root); err != nil {
		return -1, err
	}
	if err := bindConsole(root, stdin); err != nil {
		return -1, err
	}
	if err := bindFiles(root, s, cfg.Files); err != nil {
		return -1, err
	}
	if l := cfg.Spec.Linux; l != nil {
		now := func(p string) bool { return later == nil || !later(p) }
		if err := maskPaths(root, keep(l.MaskedPaths, now)); err != nil {
			return -1, err
		}
		if err := readOnlyPaths(root, keep(l.ReadonlyPaths, now)); err != nil {
			return -1, err
		}
	}
	Trace("stage: masks done")
	if err := s.sealRoot(); err != nil {
		return -1, err
	}
	if ns != nil && cfg.Init {
		// The init runs from the stage binary, as under the setup
		// stage; pinned while the host's files are in view.
		stage, err := StageBinary("")
		if err != nil {
			return -1, err
		}
		fd, err := pinBinary(stage)
		if err != nil {
			return -1, err
		}
		ns.init = os.NewFile(uintptr(fd), "init")
	}
	if ns != nil {
		if ns.oldRoot, err = pivotRootKeepOld(root); err != nil {
			return -1, err
		}
	} else if err := pivotRoot(root); err != nil {
		return -1, err
	}
	Trace("stage: pivoted")
	newRoot, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open new root: %w", err)
	}
	return newRoot, nil
}

// keep returns the elements of list for which ok is true.
func keep[T any](list []T, ok func(T) bool) []T {
	var kept []T
	for _, v := range list {
		if ok(v) {
			kept = append(kept, v)
		}
	}
	return kept
}
