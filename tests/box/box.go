package box

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CgroupLayout selects the cgroup hierarchy the box boots with.
type CgroupLayout string

const (
	// Hybrid is the host's layout here: cgroup v1 controllers with a v2
	// hierarchy beside them (at /sys/fs/cgroup/unified).
	Hybrid CgroupLayout = "hybrid"
	// Unified is pure cgroup v2, as on current real hosts; systemd-nspawn
	// picks it when SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1.
	Unified CgroupLayout = "unified"
)

// LayoutEnv names the environment variable that chooses the layout of the
// boxes a test run boots ("hybrid" or "unified", default unified).
const LayoutEnv = "DOCKAH_BOX_CGROUP"

// BaseDir holds one directory per box. It is not under /tmp, because
// nspawn mounts a fresh tmpfs on the box's /tmp.
const BaseDir = "/var/tmp/dockah-box"

// Options configure Boot.
type Options struct {
	// Layout is the cgroup layout; empty means LayoutFromEnv().
	Layout CgroupLayout
	// OS is the tree the box boots; empty means OSFromEnv().
	OS OS
	// ProjectDir is the checkout to install; empty means the one that
	// contains the working directory.
	ProjectDir string
	// BootTimeout bounds the wait for "systemctl is-system-running --wait".
	BootTimeout time.Duration
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
	// PrivateNetwork boots the box in a network namespace of its own
	// with loopback only (see network.go).
	PrivateNetwork bool
}

// Box is a running systemd in a copy-on-write view of the host root or of
// an OS tree the harness built.
type Box struct {
	dir    string // BaseDir/box-XXXX: state files, the tmpfs and the root
	root   string // the box's root as seen from the host
	layout CgroupLayout
	nspawn *exec.Cmd
	waited chan struct{} // closed when nspawn has been reaped
	pid1   int           // the box's systemd, as a host pid
	dev    uint64        // device number of the overlay root: identifies box processes
	log    func(string, ...any)
	// privateNetwork: the box has a network namespace of its own.
	privateNetwork bool
	// os is the tree the box booted; systemd the major version of its
	// systemd, once read.
	os      OS
	systemd int
}

// LayoutFromEnv returns the layout DOCKAH_BOX_CGROUP asks for.
func LayoutFromEnv() (CgroupLayout, error) {
	switch v := os.Getenv(LayoutEnv); v {
	case "", string(Unified):
		return Unified, nil
	case string(Hybrid):
		return Hybrid, nil
	default:
		return "", fmt.Errorf("%s=%q: accepted values are %q and %q", LayoutEnv, v, Hybrid, Unified)
	}
}

// Preflight reports what this machine lacks to boot a box, or nil.
func Preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("booting a systemd box needs root")
	}
	for _, cmd := range []string{"systemd-nspawn", "nsenter", "make", "go"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return fmt.Errorf("booting a systemd box needs %s on PATH (Debian package: %s)", cmd, packageOf(cmd))
		}
	}
	return nil
}

func packageOf(cmd string) string {
	switch cmd {
	case "systemd-nspawn":
		return "systemd-container"
	case "nsenter":
		return "util-linux"
	case "go":
		return "Go from go.dev, not Debian's"
	}
	return cmd
}

// Boot reaps boxes left by killed runs, then mounts, installs and boots a
// new box and waits until its systemd is up. On error nothing is left.
func Boot(opts Options) (b *Box, err error) {
	if err := Preflight(); err != nil {
		return nil, err
	}
	if opts.Layout == "" {
		if opts.Layout, err = LayoutFromEnv(); err != nil {
			return nil, err
		}
	}
	if opts.OS == "" {
		if opts.OS, err = OSFromEnv(); err != nil {
			return nil, err
		}
	}
	if err := opts.OS.supports(opts.Layout); err != nil {
		return nil, err
	}
	if opts.ProjectDir == "" {
		if opts.ProjectDir, err = FindProjectDir(); err != nil {
			return nil, err
		}
	}
	if opts.BootTimeout == 0 {
		opts.BootTimeout = 90 * time.Second
	}
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := ReapStale(); err != nil {
		return nil, fmt.Errorf("reap boxes of earlier runs: %w", err)
	}
	if err := os.MkdirAll(BaseDir, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(BaseDir, "box-")
	if err != nil {
		return nil, err
	}
	b = &Box{dir: dir, root: filepath.Join(dir, "root"), layout: opts.Layout, os: opts.OS, log: logf, privateNetwork: opts.PrivateNetwork}
	defer func() {
		if err != nil {
			_ = b.Close()
			b = nil
		}
	}()
	if err := writeOwner(dir); err != nil {
		return nil, err
	}
	if err := b.mountTree(logf); err != nil {
		return nil, err
	}
	logf("box: installing %s into %s", opts.ProjectDir, b.root)
	if err := b.install(opts.ProjectDir); err != nil {
		return nil, err
	}
	logf("box: booting systemd (%s, cgroup layout %s)", b.os, b.layout)
	if err := b.start(); err != nil {
		return nil, err
	}
	if err := b.waitRunning(opts.BootTimeout); err != nil {
		return nil, err
	}
	if err := b.checkLayout(); err != nil {
		return nil, err
	}
	logf("box: systemd is up as host pid %d", b.pid1)
	return b, nil
}

// Root returns the box's root directory as seen from the host. Files
// written below it are visible inside, except under tmp/ (nspawn mounts a
// tmpfs there).
func (b *Box) Root() string { return b.root }

// Layout returns the cgroup layout the box booted with.
func (b *Box) Layout() CgroupLayout { return b.layout }

// PID1 returns the host pid of the box's systemd.
func (b *Box) PID1() int { return b.pid1 }

// Path returns the host path of an absolute path inside the box.
func (b *Box) Path(inside string) string { return filepath.Join(b.root, inside) }

// WriteFile writes a file inside the box, creating parent directories.
func (b *Box) WriteFile(inside string, data []byte, mode os.FileMode) error {
	host := b.Path(inside)
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		return err
	}
	return os.WriteFile(host, data, mode)
}

// storeDir is the host directory bound at /var/lib/dockah in the box.
func (b *Box) storeDir() string { return filepath.Join(b.dir, "store") }

// StoreDir returns the host path of the box's /var/lib/dockah.
func (b *Box) StoreDir() string { return b.storeDir() }

// mountTree mounts the copy-on-write root over the host's / or, for
// another OS, over its tree, which it builds first unless the cache has
// it (the cache stays locked until the overlay holds the tree).
func (b *Box) mountTree(logf func(string, ...any)) error {
	tr, ok := treeFor(b.os)
	if !ok {
		return b.mount("/")
	}
	lower, unlock, err := lockTree(tr, logf)
	if err != nil {
		return fmt.Errorf("the %s tree: %w", b.os, err)
	}
	defer unlock()
	return b.mount(lower)
}

// mount builds the copy-on-write root: a tmpfs holding the overlay's upper
// and work dirs, and the overlay of lower (the host's / or an OS tree) at
// b.root.
func (b *Box) mount(lower string) error {
	rw := filepath.Join(b.dir, "rw")
	for _, d := range []string{rw, b.root, b.storeDir()} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("tmpfs", rw, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs at %s: %w", rw, err)
	}
	upper, work := filepath.Join(rw, "upper"), filepath.Join(rw, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := unix.Mount("overlay", b.root, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay of %s at %s: %w", lower, b.root, err)
	}
	dev, err := rootDevice(b.root)
	if err != nil {
		return err
	}
	b.dev = dev
	if err := os.WriteFile(filepath.Join(b.dir, "rootdev"), []byte(strconv.FormatUint(dev, 10)+"\n"), 0o600); err != nil {
		return err
	}
	// What the host may hold from manual runs must not leak into tests:
	// the box starts with no definitions. (Its store is bound over
	// /var/lib/dockah at boot, and other boxes' directories under
	// /var/tmp/dockah-box are left alone: removing them through the
	// overlay would walk them while their boxes write.)
	for _, p := range []string{"etc/dockah", "run/dockah", "usr/lib/dockah"} {
		if err := os.RemoveAll(filepath.Join(b.root, p)); err != nil {
			return fmt.Errorf("clear %s in the box: %w", p, err)
		}
	}
	return nil
}

// install runs "make install" of the project into the box's root.
func (b *Box) install(project string) error {
	cmd := exec.Command("make", "--no-print-directory", "-C", project, "install", "DESTDIR="+b.root, "PREFIX=/usr")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("make install into the box: %w\n%s", err, out)
	}
	return nil
}

// start launches systemd-nspawn and finds the box's pid 1.
func (b *Box) start() error {
	console, err := os.Create(filepath.Join(b.dir, "console.log"))
	if err != nil {
		return err
	}
	defer console.Close()
	machine := "dockah-" + strings.TrimPrefix(filepath.Base(b.dir), "box-")
	cgroups, err := makeCgroups(b.dir)
	if err != nil {
		return err
	}
	cmd := exec.Command("systemd-nspawn", "--quiet", "-D", b.root,
		"--machine="+machine, "--register=no", "--keep-unit",
		// The containers under test need capabilities (NET_ADMIN for
		// their loopback, all for the negative attack controls) that
		// nspawn drops by default.
		"--capability=all",
		// The image store lives on the host's real filesystem, as on a
		// real host: overlayfs cannot use the box's own overlay root as
		// an upper dir, and whiteouts (0:0 character devices) written
		// through an overlay would vanish.
		"--bind="+b.storeDir()+":/var/lib/dockah",
		// basic.target, not multi-user.target: the host's own services
		// (databases, getty) must not start in a box that shares the
		// host's network. dbus and machined are activated on demand.
		"-b", "systemd.unit=basic.target")
	cmd.Args = intoCgroups(b.withNetworkArgs(cmd.Args))
	cmd.Path = cmd.Args[0]
	cmd.Env = append(os.Environ(),
		"DOCKAH_BOX_CGROUPS="+strings.Join(cgroups, " "),
		// nspawn's own seccomp filter would hide what our filter does
		// (the attack tests need to see which syscalls we allow).
		"SYSTEMD_SECCOMP=0")
	if b.layout == Unified {
		cmd.Env = append(cmd.Env, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1")
	}
	// Hybrid: nspawn follows the host, which mounts the v1 controllers
	// with a v2 hierarchy beside them. (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0
	// would force the legacy layout, pure v1, which systemd 256 and later
	// no longer boot.)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a Ctrl-C reaches the test binary, which
		// tears the box down in order, not nspawn directly.
		Setpgid: true,
		// If the test binary dies, nspawn goes too; the box's pid 1 is
		// then reaped by the next run (ReapStale).
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start systemd-nspawn: %w", err)
	}
	b.nspawn = cmd
	b.waited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(b.waited) }()
	if err := writePid(b.dir, "nspawn.pid", cmd.Process.Pid); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-b.waited:
			return fmt.Errorf("systemd-nspawn exited before booting: %s", b.consoleTail())
		default:
		}
		if pid := b.findPID1(cmd.Process.Pid); pid != 0 {
			b.pid1 = pid
			return writePid(b.dir, "pid1", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no systemd appeared under systemd-nspawn (pid %d) in 30s: %s", cmd.Process.Pid, b.consoleTail())
}

// findPID1 returns the child of nspawn whose root is the box's root.
func (b *Box) findPID1(nspawnPID int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", nspawnPID, nspawnPID))
	if err != nil {
		return 0
	}
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) == "systemd" && inBox(pid, b.dev) {
			return pid
		}
	}
	return 0
}

func (b *Box) consoleTail() string {
	data, _ := os.ReadFile(filepath.Join(b.dir, "console.log"))
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return string(bytes.TrimSpace(data))
}

// waitRunning waits until the box's systemd has finished booting.
func (b *Box) waitRunning(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var state string
	for ctx.Err() == nil {
		out, _ := b.RunContext(ctx, "systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(out)
		switch state {
		case "running", "degraded":
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	jobs, _ := b.Run("systemctl", "list-jobs", "--no-pager")
	return fmt.Errorf("box systemd not running after %s (last state %q); jobs:\n%s\nconsole: %s", timeout, state, jobs, b.consoleTail())
}

// checkLayout makes sure the box booted with the cgroup layout asked for:
// pure v2 has cgroup.controllers at the top, hybrid a v2 hierarchy at
// /sys/fs/cgroup/unified beside the v1 controllers.
func (b *Box) checkLayout() error {
	probe := map[CgroupLayout]string{Unified: "/sys/fs/cgroup/cgroup.controllers", Hybrid: "/sys/fs/cgroup/unified/cgroup.controllers"}[b.layout]
	if _, err := b.Run("test", "-e", probe); err != nil {
		return fmt.Errorf("the box did not boot with the %s cgroup layout (no %s)", b.layout, probe)
	}
	return nil
}

// Close stops the box and removes everything it made: its processes (by
// pid), its mounts and its directory. It is safe to call more than once.
func (b *Box) Close() error {
	if b == nil || b.dir == "" {
		return nil
	}
	// Killing the box's init kills everything in its pid namespace,
	// including the containers under test; killBox also finds the box's
	// processes when boot failed before pid 1 was known. It runs before
	// nspawn is stopped, so that nspawn, not the host's init, reaps them.
	killBox(b.dev)
	if b.nspawn != nil {
		select {
		case <-b.waited:
		case <-time.After(10 * time.Second):
			_ = b.nspawn.Process.Kill()
			<-b.waited
		}
	}
	err := errors.Join(removeCgroups(b.dir), teardownDir(b.dir))
	b.dir = ""
	return err
}
