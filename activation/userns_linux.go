package activation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A container with a user namespace (Config.UserNS) is built like any
// other, by the shim as host root on a thread (the thread start), with
// these differences (docs/security.md, User namespaces):
//
//   - its mount, network, uts, ipc and cgroup namespaces belong to its
//     user namespace, so that the capabilities its root holds there apply
//     to them and to nothing of the host. A thread of a multi-threaded
//     process may neither create nor join a user namespace, so a helper
//     cloned with CLONE_NEWUSER creates them (userNamespaceHelper), the
//     shim writes its maps, and the thread joins them, staying host root
//     to build the root. The pid namespace is the thread's own;
//   - the image layers are idmapped mounts (mount_setattr
//     MOUNT_ATTR_IDMAP) under the overlay, so the store keeps one copy of
//     each, with the image's own IDs; so are the volumes, unless a bind
//     volume says idmap = false. The writable layer holds the range's
//     IDs (idmapLayers says why); tmpfs mounts belong to the container's
//     root (ownedByRange);
//   - the container's pid 1 mounts its /proc while the host's root is
//     still attached (pivotRootKeepOld), detaches it, sets its limits and
//     joins the user namespace before it takes its user and policy;
//     under init = true it then starts the entrypoint and re-executes the
//     shim as the init (become_init);
//   - dockah exec's command joins it through the exec trampoline
//     (exec_userns_linux.go).

// usernsBuild is what the thread start holds while it builds a container
// with a user namespace; nil for any other.
type usernsBuild struct {
	// userns is the container's user namespace: what idmapped mounts
	// map onto, and what its pid 1 joins.
	userns *os.File
	// oldRoot is the host's root, left attached under the container's
	// after pivot_root until the container's pid 1 has mounted its
	// /proc (pivotRootKeepOld says why).
	oldRoot *os.File
	// m is the container's mapping.
	m *IDMapping
	// init, with init = true, is the shim binary pinned read-only in the
	// container's mount namespace, which pid 1 re-executes as dockah's
	// init once it has started the entrypoint (become_init).
	init *os.File
}

// ownedByRange gives a new tmpfs to the container's root, as it would be
// in the host's user namespace, and keeps devpts's tty group: a tmpfs's
// uid= and gid= and devpts's gid= are host IDs, so the container's IDs
// in them (or 0, the default) are moved into the range.
func (b *usernsBuild) ownedByRange(fstype, data string) string {
	if fstype != "tmpfs" && fstype != "devpts" {
		return data
	}
	var opts []string
	if data != "" {
		opts = strings.Split(data, ",")
	}
	shift := func(key string, base uint32) bool {
		for i, o := range opts {
			if v, ok := strings.CutPrefix(o, key+"="); ok {
				if n, err := strconv.ParseUint(v, 10, 32); err == nil && n < uint64(b.m.Size) {
					opts[i] = key + "=" + strconv.FormatUint(uint64(base)+n, 10)
				}
				return true
			}
		}
		return false
	}
	hasUID := shift("uid", b.m.UID)
	hasGID := shift("gid", b.m.GID)
	if fstype == "tmpfs" {
		if !hasUID {
			opts = append(opts, "uid="+strconv.FormatUint(uint64(b.m.UID), 10))
		}
		if !hasGID {
			opts = append(opts, "gid="+strconv.FormatUint(uint64(b.m.GID), 10))
		}
	}
	return strings.Join(opts, ",")
}

// idmap is the user namespace bind mounts are idmapped onto, or nil.
func (b *usernsBuild) idmap() *os.File {
	if b == nil {
		return nil
	}
	return b.userns
}

func (b *usernsBuild) close() {
	if b.userns != nil {
		b.userns.Close()
	}
	if b.oldRoot != nil {
		b.oldRoot.Close()
	}
	if b.init != nil {
		b.init.Close()
	}
}

// errUserNSStage refuses a container with a user namespace that only the
// setup stage could start.
var errUserNSStage = errors.New(`a user namespace of its own (userns = "auto", the default) needs the shim built with cgo, stdio that are files and no mount under /proc but its procfs, and cannot be used with DOCKAH_STAGE_PROCESS=1: set [security] userns = "host" for this container`)

// mapLine is the single line of a uid_map or gid_map.
func mapLine(host, size uint32) []byte {
	return []byte("0 " + strconv.FormatUint(uint64(host), 10) + " " + strconv.FormatUint(uint64(size), 10) + "\n")
}

// writeIDMaps writes the maps of pid's user namespace. gid_map is written
// by the shim, host root, so setgroups(2) stays allowed in the container
// (its init sets the image user's supplementary groups).
func writeIDMaps(pid int, m *IDMapping) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	err := os.WriteFile(dir+"uid_map", mapLine(m.UID, m.Size), 0)
	if errors.Is(err, unix.EROFS) {
		// The shim's own sandbox made the host's /proc read-only.
		return writeIDMapsPrivateProc(pid, m)
	}
	if err != nil {
		return fmt.Errorf("write the container's uid_map: %w", err)
	}
	if err := os.WriteFile(dir+"gid_map", mapLine(m.GID, m.Size), 0); err != nil {
		return fmt.Errorf("write the container's gid_map: %w", err)
	}
	return nil
}

// writeIDMapsPrivateProc writes the maps through a procfs of the shim's
// own, detached (mounted nowhere) and with only the process directories
// (subset=pid): the sandbox's read-only /proc stays as it is, and no
// kernel tunable becomes writable.
func writeIDMapsPrivateProc(pid int, m *IDMapping) error {
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("write the container's uid_map: open a procfs: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "subset", "pid"); err != nil {
		return fmt.Errorf("write the container's uid_map: procfs subset=pid: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("write the container's uid_map: create a procfs: %w", err)
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fmt.Errorf("write the container's uid_map: mount a procfs: %w", err)
	}
	defer unix.Close(mnt)
	for _, f := range []struct {
		name string
		line []byte
	}{{"uid_map", mapLine(m.UID, m.Size)}, {"gid_map", mapLine(m.GID, m.Size)}} {
		fd, err := unix.Openat(mnt, strconv.Itoa(pid)+"/"+f.name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("write the container's %s: %w", f.name, err)
		}
		_, err = unix.Write(fd, f.line)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("write the container's %s: %w", f.name, err)
		}
	}
	return nil
}

// nsFiles name the namespaces the helper creates in /proc/PID/ns. The pid
// namespace is not one of them: /proc/PID/ns/pid_for_children cannot be
// opened before the namespace has its pid 1, so the thread unshares it
// itself and it belongs to the host's user namespace. That only decides
// who may mount a procfs of it (the shim does) and reboot(2) it (no one
// in the container).
var nsFiles = []struct {
	name string
	flag uintptr
}{
	{"mnt", unix.CLONE_NEWNS}, {"net", unix.CLONE_NEWNET}, {"uts", unix.CLONE_NEWUTS},
	{"ipc", unix.CLONE_NEWIPC}, {"cgroup", unix.CLONE_NEWCGROUP},
}

// helperFlags are the namespaces of flags the helper creates.
func helperFlags(flags uintptr) uintptr { return flags &^ unix.CLONE_NEWPID }

// joinHelperNamespaces moves the calling thread (locked) into the
// namespaces of the helper pid, but its user namespace, and returns that
// user namespace; then it unshares the pid namespace if flags asks for
// one.
func joinHelperNamespaces(pid int, flags uintptr) (*os.File, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/ns/"
	userns, err := os.Open(dir + "user")
	if err != nil {
		return nil, fmt.Errorf("open the container's user namespace: %w", err)
	}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, ns := range nsFiles {
		if flags&ns.flag == 0 {
			continue
		}
		fd, err := unix.Open(dir+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			userns.Close()
			return nil, fmt.Errorf("open the container's %s namespace: %w", ns.name, err)
		}
		fds = append(fds, fd)
	}
	// setns(CLONE_NEWNS) refuses a thread that shares its root and
	// working directory with others, as every Go thread does.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		userns.Close()
		return nil, fmt.Errorf("unshare the file system attributes: %w", err)
	}
	i := 0
	for _, ns := range nsFiles {
		if flags&ns.flag == 0 {
			continue
		}
		if err := unix.Setns(fds[i], int(ns.flag)); err != nil {
			userns.Close()
			return nil, fmt.Errorf("join the container's %s namespace: %w", ns.name, err)
		}
		i++
	}
	if flags&unix.CLONE_NEWPID != 0 {
		if err := unix.Unshare(unix.CLONE_NEWPID); err != nil {
			userns.Close()
			return nil, fmt.Errorf("create the container's pid namespace: %w", err)
		}
	}
	return userns, nil
}

// errNoIDMap explains a file system that refuses idmapped mounts; it
// follows the name of the file system (fsTypeOf).
var errNoIDMap = errors.New("does not support idmapped mounts (Linux 5.12 and later on ext4, xfs, btrfs, f2fs, fat; 6.3 for tmpfs; not on NFS, overlayfs or FUSE)")

// fsTypeOf names the type of the file system path is on, for an error.
func fsTypeOf(path string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "unknown"
	}
	return fsTypeName(int64(st.Type))
}

// idmappedTree returns a detached copy of the mount tree at path (just
// the mount at path unless recursive), idmapped onto userns.
func idmappedTree(path string, userns *os.File, recursive bool) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	setFlags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
		setFlags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, flags)
	if err != nil {
		return -1, fmt.Errorf("open_tree %s: %w", path, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(fd, "", setFlags, &attr); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EOPNOTSUPP) {
			return -1, fmt.Errorf("idmap %s: %w: its file system (%s) %w", path, err, fsTypeOf(path), errNoIDMap)
		}
		return -1, fmt.Errorf("idmap %s: %w", path, err)
	}
	return fd, nil
}

// idmapInto mounts an idmapped copy of path at target (a directory that
// exists).
func idmapInto(path, target string, userns *os.File) error {
	fd, err := idmappedTree(path, userns, false)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount idmapped %s on %s: %w", path, target, err)
	}
	return nil
}

// idmapLayers mounts an idmapped copy of each image layer in the scratch
// tmpfs and returns the layers the overlay is made of from those copies
// (in the container's mount namespace only). The writable layer is not
// idmapped: overlayfs writes its work directory and copies up with the
// credentials of its mounter, host root, whom the range cannot represent
// (EOVERFLOW). So the writable layer holds the range's IDs on disk, as the
// container's files (the root of the writable layer is given to the
// range's root here); dockah commit shifts them back (docs/security.md).
func idmapLayers(layers RootLayers, dir string, userns *os.File, m *IDMapping) (RootLayers, error) {
	out := RootLayers{Lower: make([]string, len(layers.Lower)), Upper: layers.Upper, Work: layers.Work, Volatile: layers.Volatile}
	for i, l := range layers.Lower {
		target := filepath.Join(dir, "l"+strconv.Itoa(i))
		if err := os.Mkdir(target, 0o700); err != nil {
			return out, err
		}
		if err := idmapInto(l, target, userns); err != nil {
			return out, fmt.Errorf("image layer: %w", err)
		}
		out.Lower[i] = target
	}
	if layers.Upper != "" {
		if err := os.Lchown(layers.Upper, int(m.UID), int(m.GID)); err != nil {
			return out, fmt.Errorf("give the writable layer to the container's range: %w", err)
		}
	}
	return out, nil
}

// pivotRootKeepOld is pivotRoot without the detaching of the host's root,
// which it returns. A mount namespace that belongs to a user namespace
// other than the host's may get a new procfs only where a procfs is
// already fully visible in it (mount_too_revealing: the kernel will not
// let a namespace mount its way past masks it was given). The host's
// /proc is, under the old root, until the container's pid 1 has mounted
// its own; it then detaches the old root.
func pivotRootKeepOld(root int) (*os.File, error) {
	if err := unix.Fchdir(root); err != nil {
		return nil, fmt.Errorf("enter root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return nil, fmt.Errorf("pivot_root: %w", err)
	}
	// "." is the old root now, stacked on the new one.
	fd, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the host root: %w", err)
	}
	// Nothing the container does from here on may propagate to the host
	// through it (it was made private with the rest).
	if err := unix.Chdir("/"); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "oldroot"), nil
}

// idmapBind mounts an idmapped copy of the directory source on target (an
// O_PATH fd in the root).
func idmapBind(source string, target int, userns *os.File, recursive bool) error {
	fd, err := idmappedTree(source, userns, recursive)
	if err != nil {
		if errors.Is(err, errNoIDMap) {
			return fmt.Errorf("%w; set chown = true on this [[volume]] to give its files to the container's range once, idmap = false to mount it with its host IDs as they are, or [security] userns = \"host\"", err)
		}
		return err
	}
	defer unix.Close(fd)
	if err := unix.MoveMount(fd, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount idmapped %s: %w", source, err)
	}
	return nil
}

// execUserNSEnv tells the exec stage that the container has a user
// namespace of its own: the command starts as the exec trampoline.
const execUserNSEnv = "_DOCKAH_EXEC_USERNS"

// inOwnUserNS reports whether the container whose init is pid has a user
// namespace other than this process's.
func inOwnUserNS(pid int) (bool, error) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("open the container's user namespace: %w", err)
	}
	defer unix.Close(fd)
	same, err := sameFile(fd, "/proc/self/ns/user")
	return !same, err
}

// userNSStageBinary is the binary the exec stage of a container with a
// user namespace runs, and its command's trampoline: the shim itself, or
// this executable (both built with cgo, which has the trampoline).
func userNSStageBinary(shim string) (string, error) {
	if !trampolineAvailable {
		return "", errors.New(`dockah exec into a container with userns = "auto" needs the shim built with cgo (make build)`)
	}
	bin := shim
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return "", err
		}
	}
	// The trampoline is exec'd inside the container's root, where a
	// dynamic loader would be the image's.
	if dynamic, err := IsDynamic(bin); err != nil || dynamic {
		return "", fmt.Errorf(`dockah exec into a container with userns = "auto" needs %s linked statically (make build does): %v`, bin, err)
	}
	return bin, nil
}
