package activation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Container is a started container: its init's pid on the host.
type Container struct {
	Pid int
	// NetNS is the container's network namespace, handed over by the
	// setup stage; nil if it could not be.
	NetNS *os.File
	cmd   *exec.Cmd   // the setup stage's start; nil for a thread start
	proc  *os.Process // the init, when cmd is nil
}

// StartOptions are the host-side resources of a start.
type StartOptions struct {
	// Sockets are the listening sockets, in the order the names in
	// Config.Sockets give; they become fd 3 and on in the container.
	Sockets []*os.File
	// Stdin, Stdout and Stderr default to the shim's own, which systemd
	// connected to the journal.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Started, if set, is called with the init's host pid as soon as it
	// exists, while the container is still being set up (the shim
	// registers the machine meanwhile). It may run on a thread whose root
	// is the container's: it must only start work elsewhere.
	Started func(pid int)
	// BeforeExec, if set, is called once the container is set up, before
	// its entrypoint runs: the shim tells systemd the container's pid
	// there, so that even an entrypoint that exits at once is known as
	// the unit's main process. The thread start holds the entrypoint
	// until it returns (an error ends the container); with the setup
	// stage, the entrypoint has been exec'd by then.
	BeforeExec func() error
	// Network, if set, is called with the container's new network
	// namespace (an fd it must not close) as soon as the namespace
	// exists; the entrypoint runs only once it has returned, and an
	// error ends the start. The shim joins the container to its
	// networks there. On the thread start it runs while the root is
	// built.
	Network func(netns int) error
	// NetNSCreated, if set, is called with the container's network
	// namespace as soon as it exists, before the root is built, on the
	// thread that builds the container, whose namespaces are already
	// the container's: it must only start work elsewhere, with a
	// duplicate of the file. The shim starts a forwarder there, so that
	// the forwarder's own start overlaps the container's. Only the
	// thread start calls it.
	NetNSCreated func(netns *os.File)
	// Sibling makes the container's init a child of the shim's parent
	// (CLONE_PARENT): under systemd, of systemd itself, which then
	// supervises it as any main process it started, reaps it and reports
	// its exit status, even while the shim stays as a forwarder. Wait
	// cannot be used then.
	Sibling bool
}

// Start builds the container cfg describes and starts its entrypoint; it
// returns once the entrypoint runs (after opts.BeforeExec) or its setup
// has failed, and then nothing of the container is left. Under systemd the shim must not
// wait for the returned container: systemd, its parent with Sibling,
// collects its exit status.
//
// Start takes one of two ways, which apply the same policy:
//
//   - the thread start (startOnThread), whenever it can serve
//     (canStartOnThread): a locked thread of this process unshares the
//     namespaces, builds and enters the root, and clones the container's
//     pid 1, which mounts /proc (a procfs can only be mounted once its pid
//     namespace has a process), takes the user and the policy, and execs
//     the entrypoint once BeforeExec has returned;
//   - otherwise the setup stage: a process created in the new namespaces
//     from the stage binary (StageBinary) reads cfg from a socket, builds
//     the root, applies the policy and execs the entrypoint, or with
//     init = true starts the app stage and becomes the init. It is taken
//     for init = true without a user namespace, stdio that are not files, mounts
//     under /proc other than its procfs, a binary built without cgo, and
//     with DOCKAH_STAGE_PROCESS=1.
func Start(cfg *Config, opts StartOptions) (*Container, error) {
	if len(opts.Sockets) != len(cfg.Sockets) {
		return nil, fmt.Errorf("%d sockets passed for %d names", len(opts.Sockets), len(cfg.Sockets))
	}
	if canStartOnThread(cfg, opts) {
		return startOnThread(cfg, opts)
	}
	if cfg.UserNS != nil {
		return nil, errUserNSStage
	}

	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create sync socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(pair[0]), "sync"), os.NewFile(uintptr(pair[1]), "sync")
	defer ours.Close()

	stage, err := StageBinary("")
	if err != nil {
		theirs.Close()
		return nil, err
	}
	cmd := exec.Command(stage)
	cmd.Args = []string{"dockah-activate", "[setup " + cfg.Name + "]"}
	cmd.ExtraFiles = append(append([]*os.File{}, opts.Sockets...), theirs)
	cmd.Env = []string{stageEnv + "=" + strconv.Itoa(3+len(opts.Sockets))}
	if tracing {
		cmd.Env = append(cmd.Env, "DOCKAH_TRACE=1")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio(opts)
	flags := cloneFlags(cfg.Spec)
	if opts.Sibling {
		flags |= unix.CLONE_PARENT
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: flags,
		// If the shim dies during setup, so does the half-built
		// container; the stage clears this right before exec.
		Pdeathsig: syscall.SIGKILL,
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return nil, fmt.Errorf("create container namespaces: %w", err)
	}
	c := &Container{Pid: cmd.Process.Pid, cmd: cmd}
	if opts.Started != nil {
		opts.Started(c.Pid)
	}
	if opts.Network != nil {
		// The stage is blocked reading its configuration: the network
		// is ready before it can exec the entrypoint.
		if err := joinNetwork(c.Pid, opts.Network); err != nil {
			return nil, c.fail(err)
		}
	}
	if err := writeConfig(ours, cfg); err != nil {
		return nil, c.fail(fmt.Errorf("send configuration: %w", err))
	}
	if err := unix.Shutdown(int(ours.Fd()), unix.SHUT_WR); err != nil {
		return nil, c.fail(err)
	}
	reply, err := c.readReply(ours)
	if err != nil {
		return nil, c.fail(fmt.Errorf("read setup result: %w", err))
	}
	if err := c.interpret(reply); err != nil {
		if c.NetNS != nil {
			c.NetNS.Close()
		}
		return nil, err
	}
	if opts.BeforeExec != nil {
		if err := opts.BeforeExec(); err != nil {
			return nil, c.fail(err)
		}
	}
	return c, nil
}

// readReply reads the setup stage's words until EOF, keeping the network
// namespace fd that comes with msgExec.
func (c *Container) readReply(sync *os.File) ([]byte, error) {
	var reply []byte
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	for len(reply) < 64<<10 {
		n, oobn, _, _, err := unix.Recvmsg(int(sync.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return reply, err
		}
		if oobn > 0 {
			c.takeNetNS(oob[:oobn])
		}
		if n == 0 {
			return reply, nil
		}
		reply = append(reply, buf[:n]...)
	}
	return reply, nil
}

func (c *Container) takeNetNS(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if c.NetNS == nil {
				c.NetNS = os.NewFile(uintptr(fd), "netns")
			} else {
				unix.Close(fd)
			}
		}
	}
}

func stdio(opts StartOptions) (io.Reader, io.Writer, io.Writer) {
	in, out, errw := opts.Stdin, opts.Stdout, opts.Stderr
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	if errw == nil {
		errw = os.Stderr
	}
	return in, out, errw
}

// interpret reads the setup stage's reply: nothing but msgExec followed by
// EOF means the entrypoint runs; an error message means it does not.
func (c *Container) interpret(reply []byte) error {
	if i := bytes.IndexByte(reply, msgError); i >= 0 {
		_, _ = c.wait()
		return parseReport(reply[i+1:])
	}
	if len(reply) == 1 && reply[0] == msgExec {
		return nil
	}
	return c.fail(fmt.Errorf("setup stage ended without a word (%s)", c.waitStatus()))
}

// fail kills a half-built container and returns err.
func (c *Container) fail(err error) error {
	c.Kill()
	return err
}

// Exited reports whether the container's init has already ended (a
// command that ran its course before machined could look at it).
func (c *Container) Exited() bool {
	fd, err := unix.PidfdOpen(c.Pid, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
	return err == nil && n > 0
}

// Kill ends the container and returns once its init is gone. It waits
// through a pidfd, which works when the init is systemd's child
// (Sibling) too: the shim must not exit while the container still runs
// unknown to systemd, which on the legacy cgroup layout cannot tell when
// the unit's cgroup empties.
func (c *Container) Kill() {
	fd, err := unix.PidfdOpen(c.Pid, 0)
	if err != nil {
		_ = unix.Kill(c.Pid, unix.SIGKILL)
		_, _ = c.wait()
		return
	}
	defer unix.Close(fd)
	_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	_, _ = c.wait() // reaps it when it is our child
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, 5000); !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

func (c *Container) waitStatus() string {
	state, err := c.wait()
	if err != nil {
		return err.Error()
	}
	return state.String()
}

// wait reaps the init when it is this process's child.
func (c *Container) wait() (*os.ProcessState, error) {
	if c.cmd != nil {
		err := c.cmd.Wait()
		if c.cmd.ProcessState != nil {
			return c.cmd.ProcessState, nil
		}
		return nil, err
	}
	if c.proc == nil {
		return nil, errors.New("no process to wait for")
	}
	return c.proc.Wait()
}

// Wait waits for the container to exit, for a shim run outside systemd
// (by hand, for debugging), and returns its exit status.
func (c *Container) Wait() (int, error) {
	state, err := c.wait()
	if err != nil {
		return 0, err
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return state.ExitCode(), nil
}

// StageName is the file name of the stage binary, installed beside the
// shim.
const StageName = "dockah-stage"

// StageBinary returns the binary to run a stage with: dockah-stage beside
// near (or beside this executable when near is empty), which starts
// faster than the shim, or else this executable, which has the same stage
// code (tests run this way).
func StageBinary(near string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if near == "" {
		near = self
	}
	candidate := filepath.Join(filepath.Dir(near), StageName)
	if st, err := os.Stat(candidate); err == nil && st.Mode().IsRegular() {
		return candidate, nil
	}
	if near != self {
		return near, nil
	}
	return self, nil
}

// cloneFlags returns the namespaces the spec asks for. A namespace with a
// path (join an existing one) is not supported.
func cloneFlags(spec *specs.Spec) uintptr {
	var flags uintptr
	if spec.Linux == nil {
		return flags
	}
	for _, ns := range spec.Linux.Namespaces {
		switch ns.Type {
		case specs.MountNamespace:
			flags |= unix.CLONE_NEWNS
		case specs.PIDNamespace:
			flags |= unix.CLONE_NEWPID
		case specs.UTSNamespace:
			flags |= unix.CLONE_NEWUTS
		case specs.IPCNamespace:
			flags |= unix.CLONE_NEWIPC
		case specs.NetworkNamespace:
			flags |= unix.CLONE_NEWNET
		case specs.CgroupNamespace:
			flags |= unix.CLONE_NEWCGROUP
		}
	}
	return flags
}
