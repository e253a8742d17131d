package activation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// execStageEnv marks the exec stage (with stageEnv): the process joins a
// running container instead of building a new one.
const execStageEnv = "_DOCKAH_EXEC"

// Exit statuses of an exec that did not run its command, as Docker and
// podman use them; otherwise Exec returns the command's own status.
const (
	ExitCannotRun = 126 // the command was found but could not be run
	ExitNotFound  = 127 // no such command in the container
)

// ExecOptions describe one command run inside a running container.
type ExecOptions struct {
	// Config is the container's configuration from Prepare: its spec's
	// process (environment, user, working directory, rlimits,
	// no_new_privs, SELinux label) and its policy (capability sets,
	// seccomp program). The command runs under exactly that policy.
	Config *Config
	// Pid is the host pid of the container's init (its service's
	// MainPID): the command joins its namespaces and its root.
	Pid int
	// Args is the command; Args[0] is looked up in the container's PATH.
	Args []string
	// Env is added to the container's environment (KEY=VALUE).
	Env []string
	// User replaces the container's user: "name", "uid", "name:group"
	// or "uid:gid", resolved inside the container.
	User string
	// Cwd replaces the container's working directory.
	Cwd string
	// TTY runs the command on a new terminal allocated inside the
	// container (its own devpts) and relays it to Stdin and Stdout;
	// a Stdin that is a terminal is put in raw mode meanwhile.
	TTY bool
	// Stdin is nil for no input. Stdout and Stderr default to the
	// caller's. A terminal among them is never handed to the
	// container (it could push input into the caller's shell with
	// TIOCSTI): it is relayed through a pipe.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Shim is the installed shim: the exec stage, which joins the
	// container, runs from dockah-stage beside it when installed, which
	// is smaller to copy and faster to start, or else from the shim
	// itself (see StageBinary). Empty means this executable. Whichever
	// binary runs, its main must call IsStage and RunStage first, as
	// dockah-activate and dockah-stage do.
	Shim string
}

// execRequest is what the exec stage reads from the sync socket.
type execRequest struct {
	Config *Config  `json:"config"`
	Pid    int      `json:"pid"`
	Args   []string `json:"args"`
	Env    []string `json:"env,omitempty"`
	User   string   `json:"user,omitempty"`
	Cwd    string   `json:"cwd,omitempty"`
	TTY    bool     `json:"tty,omitempty"`
	Size   *winsize `json:"size,omitempty"`
}

// winsize is a terminal's size in characters.
type winsize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// Exec runs a command inside the running container whose init is
// opts.Pid, in all its namespaces, its root, its cgroups, as
// its user and under its security policy, and returns the command's exit
// status (128+N when killed by signal N). When the command could not be
// run, err says why and the status is ExitNotFound, ExitCannotRun or
// ExitSetupFailed.
//
// The exec stage (a stage binary, see Shim) stays in the host's pid
// namespace and joins the container on one thread; it drops to the container's
// user and policy on that thread and forks the command from it, so the
// command is born inside, with the policy, and nothing of the host is
// visible from the container but for the instant before the command's
// exec, while the exec stage is not dumpable.
func Exec(opts ExecOptions) (int, error) {
	if len(opts.Args) == 0 || opts.Args[0] == "" {
		return ExitSetupFailed, errors.New("no command to run")
	}
	if opts.Config == nil || opts.Config.Spec == nil || opts.Config.Spec.Process == nil {
		return ExitSetupFailed, errors.New("no container configuration")
	}
	if err := checkContainerPid(opts.Pid); err != nil {
		return ExitSetupFailed, err
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return ExitSetupFailed, fmt.Errorf("create sync socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(pair[0]), "sync"), os.NewFile(uintptr(pair[1]), "sync")
	defer ours.Close()
	stage, err := StageBinary(opts.Shim)
	if err != nil {
		theirs.Close()
		return ExitSetupFailed, err
	}
	ownUserNS, err := inOwnUserNS(opts.Pid)
	if err != nil {
		theirs.Close()
		return ExitSetupFailed, err
	}
	if ownUserNS {
		// The stage binary is built without cgo, and so without the
		// exec trampoline: the shim (or this executable) has it.
		if stage, err = userNSStageBinary(opts.Shim); err != nil {
			theirs.Close()
			return ExitSetupFailed, err
		}
	}
	sealed, err := sealedCopy(stage)
	if err != nil {
		theirs.Close()
		return ExitSetupFailed, err
	}
	defer sealed.Close()
	// The exec stage runs from the sealed copy, fd 4 of it (exec.Cmd
	// puts ExtraFiles at 3 and on), so that the command's /proc/PID/exe,
	// while it is a copy of the exec stage in the container's pid namespace,
	// is that copy: never the file on the host a container could
	// rewrite (CVE-2019-5736).
	cmd := exec.Command("/proc/self/fd/4")
	cmd.Args = []string{"dockah-activate", "[exec " + opts.Config.Name + "]"}
	cmd.Env = []string{stageEnv + "=3", execStageEnv + "=4"}
	if ownUserNS {
		cmd.Env = append(cmd.Env, execUserNSEnv+"=1")
	}
	cmd.ExtraFiles = []*os.File{theirs, sealed}
	var relay io.Writer
	cmd.Stdin, cmd.Stdout, cmd.Stderr, relay = execStdio(opts)
	// The exec stage's output is drained for a moment after it exits; a
	// background process of the command holding it open must not hang
	// the caller.
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Out of the caller's process group, so that a Ctrl-C reaches
		// the command once, forwarded, not once per process.
		Setpgid: true,
		// A caller that dies takes the command with it: the exec stage
		// forwards this to the command.
		Pdeathsig: syscall.SIGTERM,
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return ExitSetupFailed, fmt.Errorf("start %s: %w", stage, err)
	}
	x := &execution{opts: opts, cmd: cmd, sync: ours, relay: relay}
	return x.run()
}

// checkContainerPid refuses a pid that is not a container's: every
// container has a mount namespace of its own, and a pid that shares the
// caller's (a service's shim still starting, a pid reused) would have
// the command run on the host's root.
func checkContainerPid(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("no container pid")
	}
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("container pid %d: %w", pid, err)
	}
	defer unix.Close(fd)
	same, err := sameFile(fd, "/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("container pid %d: %w", pid, err)
	}
	if same {
		return fmt.Errorf("pid %d is not in a container: it shares this process's mount namespace", pid)
	}
	return nil
}

// execution is the caller's side of a running exec.
type execution struct {
	opts  ExecOptions
	cmd   *exec.Cmd
	sync  *os.File
	relay io.Writer // where the terminal's output goes, with -t
}

func (x *execution) run() (int, error) {
	// The exec stage joins the container's cgroups before it forks the
	// command, which is born in them.
	if err := joinCgroups(x.cmd.Process.Pid, x.opts.Pid); err != nil {
		return x.fail(err)
	}
	req := execRequest{
		Config: x.opts.Config, Pid: x.opts.Pid, Args: x.opts.Args, Env: x.opts.Env,
		User: x.opts.User, Cwd: x.opts.Cwd, TTY: x.opts.TTY,
	}
	if x.opts.TTY {
		req.Size = terminalSize(x.opts.Stdin, x.opts.Stdout)
	}
	// Signals that arrive from now on are the command's.
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, forwardedSignals...)
	defer signal.Stop(signals)
	if err := json.NewEncoder(x.sync).Encode(req); err != nil {
		return x.fail(fmt.Errorf("send the exec request: %w", err))
	}
	master, err := x.started()
	if err != nil {
		return x.exitStatus(), err
	}
	go func() {
		for sig := range signals {
			_ = x.cmd.Process.Signal(sig)
		}
	}()
	if master != nil {
		relayTerminal(master, x.opts, x.relay)
	}
	return x.exitStatus(), nil
}

// started reads the exec stage's word: msgExec (with the terminal's master
// for a TTY) once the command runs, or msgError and a message.
func (x *execution) started() (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(x.sync.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("read the exec result: %w", err)
	}
	var master *os.File
	if oobn > 0 {
		if master, err = receivedFile(oob[:oobn]); err != nil {
			return nil, err
		}
	}
	switch {
	case n == 1 && buf[0] == msgExec:
		if x.opts.TTY && master == nil {
			return nil, errors.New("no terminal came back from the container")
		}
		return master, nil
	case n == 1 && buf[0] == msgError:
		msg, _ := io.ReadAll(io.LimitReader(x.sync, 64<<10))
		return nil, parseReport(msg)
	}
	return nil, errors.New("the exec stage ended without a word")
}

func receivedFile(oob []byte) (*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("read the terminal from the container: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("read the terminal from the container: %v", err)
	}
	return os.NewFile(uintptr(fds[0]), "ptmx"), nil
}

// fail stops an exec stage that has not run the command yet.
func (x *execution) fail(err error) (int, error) {
	_ = x.cmd.Process.Kill()
	_ = x.cmd.Wait()
	return ExitSetupFailed, err
}

// exitStatus waits for the exec stage, which exits with the command's
// status.
func (x *execution) exitStatus() int { return waitStatus(x.cmd.Wait()) }

// forwardedSignals are passed on to the command.
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// sealedCopy copies the binary at path into a memfd and seals it: it can
// be run, never changed (F_SEAL_WRITE, _GROW, _SHRINK, then _SEAL).
func sealedCopy(path string) (*os.File, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("dockah-activate", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		// A kernel before 6.3 knows no MFD_EXEC; its memfds run.
		fd, err = unix.MemfdCreate("dockah-activate", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("seal a copy of %s: %w", path, err)
	}
	mem := os.NewFile(uintptr(fd), "memfd:dockah-activate")
	if _, err := io.Copy(mem, src); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal a copy of %s: %w", path, err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal a copy of %s: %w", path, err)
	}
	return mem, nil
}

// execStdio returns the exec stage's stdin, stdout and stderr, which the
// command inherits unless it has a terminal of its own, and where that
// terminal's output goes. Files are handed on as they are, except
// terminals: a terminal's fd inside the container could inject input into
// the caller's shell (TIOCSTI), so it is relayed through a pipe (a
// non-*os.File makes exec.Cmd copy through one).
func execStdio(opts ExecOptions) (stdin io.Reader, stdout, stderr, relay io.Writer) {
	stdout, stderr = opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	if opts.TTY {
		// The command gets the new terminal; the exec stage only reports
		// its own failures, maybe to the same place as the relay.
		mu := &sync.Mutex{}
		return nil, nil, lockedWriter{mu, stderr}, lockedWriter{mu, stdout}
	}
	if opts.Stdin != nil {
		stdin = opts.Stdin
		if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			stdin = struct{ io.Reader }{f}
		}
	}
	return stdin, hideTerminal(stdout), hideTerminal(stderr), nil
}

func hideTerminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return struct{ io.Writer }{f}
	}
	return w
}

// waitStatus turns the end of a process (cmd.Wait's error) into an exit
// status. Output left undrained after WaitDelay does not change it.
func waitStatus(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return ExitSetupFailed
	}
	return 0
}
