package activation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// OptionalMount marks a bind mount whose source may be missing on the host
// (the journal's /dev/log socket on a host without journald): it is then
// skipped instead of failing the start.
const OptionalMount = "x-dockah.optional"

// NoIDMapMount marks a bind mount of a container with a user namespace
// that keeps the host's IDs instead of being idmapped onto the
// container's range ([[volume]] idmap = false).
const NoIDMapMount = "x-dockah.noidmap"

// chownMount is unitgen.ChownMount: the volume was given to the
// container's range before the start.
const chownMount = "x-dockah.chown"

// mountAll mounts the spec's mounts into the root, in order, each target
// resolved inside the root. With a user namespace (ns not nil), bind
// mounts of directories are idmapped onto it, and tmpfs and devpts
// mounts belong to the container's root (ownedByRange).
func mountAll(root int, mounts []specs.Mount, ns *usernsBuild) error {
	for _, m := range mounts {
		if err := mountOne(root, m, ns); err != nil {
			return fmt.Errorf("mount %s on %s: %w", describeSource(m), m.Destination, err)
		}
	}
	return nil
}

func describeSource(m specs.Mount) string {
	if m.Source != "" && m.Source != m.Type {
		return m.Source
	}
	return m.Type
}

func mountOne(root int, m specs.Mount, ns *usernsBuild) error {
	userns := ns.idmap()
	var optional bool
	options := make([]string, 0, len(m.Options))
	for _, o := range m.Options {
		if o == OptionalMount {
			optional = true
			continue
		}
		if o == NoIDMapMount {
			userns = nil
			continue
		}
		if o == chownMount {
			continue // done before the start (unitgen.ChownMount)
		}
		options = append(options, o)
	}
	opts, err := parseMountOptions(options)
	if err != nil {
		return err
	}
	if m.Type == "bind" {
		opts.bind = true
	}
	if opts.bind {
		return bindMount(root, m, opts, optional, userns)
	}
	target, err := mkdirAllInRoot(root, m.Destination, 0o755)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	source := m.Source
	if source == "" {
		source = m.Type
	}
	data := opts.data
	if ns != nil {
		data = ns.ownedByRange(m.Type, data)
	}
	if err := unix.Mount(source, fdPath(target), m.Type, opts.flags, data); err != nil {
		return err
	}
	return applyPropagation(root, m.Destination, opts)
}

// bindMount binds a host path into the root. A bind ignores flags such as
// MS_RDONLY, so they are applied with a remount of the new mount.
func bindMount(root int, m specs.Mount, opts mountOptions, optional bool, userns *os.File) error {
	if !filepath.IsAbs(m.Source) {
		return fmt.Errorf("bind source %q is not an absolute path", m.Source)
	}
	st, err := os.Stat(m.Source)
	if errors.Is(err, os.ErrNotExist) && optional {
		return nil
	}
	if err != nil {
		return err
	}
	var target int
	if st.IsDir() {
		target, err = mkdirAllInRoot(root, m.Destination, 0o755)
	} else {
		target, err = touchInRoot(root, m.Destination, 0o644)
	}
	if err != nil {
		return err
	}
	defer unix.Close(target)
	if userns != nil && st.IsDir() {
		if err := idmapBind(m.Source, target, userns, opts.recursive); err != nil {
			return err
		}
	} else {
		flags := uintptr(unix.MS_BIND)
		if opts.recursive {
			flags |= unix.MS_REC
		}
		if err := unix.Mount(m.Source, fdPath(target), "", flags, ""); err != nil {
			return err
		}
	}
	if opts.flags != 0 {
		if err := remountInRoot(root, m.Destination, opts.flags); err != nil {
			return err
		}
	}
	return applyPropagation(root, m.Destination, opts)
}

// remountInRoot changes the flags of the mount at name. The target is
// opened again: an fd taken before a mount refers to what was below it,
// and remounting through it would change the wrong mount.
func remountInRoot(root int, name string, flags uintptr) error {
	fd, err := openInRoot(root, name, unix.O_PATH)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return err
	}
	// A remount must keep the flags the kernel locked on the source
	// mount, or it fails; keep whatever restricts more.
	flags |= lockedFlags(st.Flags)
	if err := unix.Mount("", fdPath(fd), "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", name, err)
	}
	return nil
}

func lockedFlags(statfsFlags int64) uintptr {
	var flags uintptr
	for st, ms := range map[int64]uintptr{
		unix.ST_RDONLY: unix.MS_RDONLY, unix.ST_NOSUID: unix.MS_NOSUID,
		unix.ST_NODEV: unix.MS_NODEV, unix.ST_NOEXEC: unix.MS_NOEXEC,
	} {
		if statfsFlags&st != 0 {
			flags |= ms
		}
	}
	return flags
}

func applyPropagation(root int, name string, opts mountOptions) error {
	if opts.propagation == 0 {
		return nil
	}
	fd, err := openInRoot(root, name, unix.O_PATH)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Mount("", fdPath(fd), "", opts.propagation, "")
}

// bindFiles writes the generated files into the scratch tmpfs and binds
// each read-only over its path in the root.
func bindFiles(root int, s *scratch, files map[string]string) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		src := filepath.Join(s.dir, fmt.Sprintf("file%d", i))
		if err := os.WriteFile(src, []byte(files[name]), 0o644); err != nil {
			return err
		}
		m := specs.Mount{Source: src, Destination: name, Type: "bind", Options: []string{"ro", "nosuid", "nodev", "noexec"}}
		opts, _ := parseMountOptions(m.Options)
		if err := bindMount(root, m, opts, false, nil); err != nil {
			return fmt.Errorf("bind %s: %w", name, err)
		}
	}
	return nil
}

// maskPaths hides paths: a directory under an empty read-only tmpfs, a file
// under the container's /dev/null, as the thread start's child masks those
// under /proc (the host's /dev/null would bring the host's devtmpfs into
// the container's mount table). Paths that do not exist are skipped.
func maskPaths(root int, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	null, err := devNull(root)
	if err != nil {
		return err
	}
	defer unix.Close(null)
	for _, p := range paths {
		fd, err := openInRoot(root, p, unix.O_PATH)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
		dir, err := isDir(fd)
		if err == nil {
			if dir {
				err = unix.Mount("tmpfs", fdPath(fd), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0500")
			} else {
				err = unix.Mount(fdPath(null), fdPath(fd), "", unix.MS_BIND, "")
			}
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

// readOnlyPaths binds paths onto themselves and makes the bind read-only.
func readOnlyPaths(root int, paths []string) error {
	for _, p := range paths {
		fd, err := openInRoot(root, p, unix.O_PATH)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
		err = unix.Mount(fdPath(fd), fdPath(fd), "", unix.MS_BIND|unix.MS_REC, "")
		unix.Close(fd)
		if err == nil {
			err = remountInRoot(root, p, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
		}
		if err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	return nil
}
