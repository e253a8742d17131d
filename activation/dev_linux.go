package activation

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// device is a node of the container's minimal /dev.
type device struct {
	name         string
	major, minor uint32
}

// devices are the nodes every container gets, as in Docker's default set.
// /dev/console is the container's own terminal when it has one (see
// bindConsole), never the host's console.
var devices = []device{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

var devLinks = [][2]string{
	{"ptmx", "pts/ptmx"},
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

// bindConsole makes the terminal the container runs on, if any, its
// /dev/console, as Docker does: the terminal is on the host's devpts, which
// the container does not see, so without this name programs that look
// their terminal up (ttyname) would find none.
func bindConsole(root, stdin int) error {
	if _, err := unix.IoctlGetTermios(stdin, unix.TCGETS); err != nil {
		return nil // not a terminal: no console, rather than the host's
	}
	// A bind mount's source must be a mount of this namespace, and the
	// terminal was opened in systemd's: bind it by its path here, once
	// that path is known to be the same terminal.
	source, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", stdin))
	if err != nil {
		return nil
	}
	var tty, named unix.Stat_t
	if unix.Fstat(stdin, &tty) != nil || unix.Stat(source, &named) != nil || tty.Rdev != named.Rdev || named.Mode&unix.S_IFMT != unix.S_IFCHR {
		return nil
	}
	target, err := touchInRoot(root, "/dev/console", 0o600)
	if err != nil {
		return fmt.Errorf("create /dev/console: %w", err)
	}
	defer unix.Close(target)
	if err := unix.Mount(source, fdPath(target), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind the terminal %s at /dev/console: %w", source, err)
	}
	return nil
}

// devNull opens (O_PATH) the container's /dev/null, the node populateDev
// made, to bind over masked files.
func devNull(root int) (int, error) {
	fd, err := openInRoot(root, "/dev/null", unix.O_PATH)
	if err != nil {
		return -1, fmt.Errorf("open the container's /dev/null: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		unix.Close(fd)
		return -1, errors.New("the container's /dev/null is not the null device")
	}
	return fd, nil
}

// populateDev creates the device nodes and links in the root's /dev, which
// must be the fresh tmpfs the spec mounts there; the image's own /dev is
// never used (CVE-2025-31133, CVE-2025-52565 came from following it).
func populateDev(root int) error {
	dev, err := openInRoot(root, "/dev", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	defer unix.Close(dev)
	var st unix.Statfs_t
	if err := unix.Fstatfs(dev, &st); err != nil {
		return err
	}
	if st.Type != unix.TMPFS_MAGIC {
		return errors.New("/dev is not the fresh tmpfs the spec mounts; refusing to create devices in the image's /dev")
	}
	for _, d := range devices {
		if err := unix.Mknodat(dev, d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("create /dev/%s: %w", d.name, err)
		}
	}
	for _, l := range devLinks {
		if err := unix.Symlinkat(l[1], dev, l[0]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create /dev/%s: %w", l[0], err)
		}
	}
	return nil
}
