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

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// execStageEnv marks the setup stage of an exec (with stageEnv): the
// helper joins a running container instead of building a new one.
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
	// Helper is the binary re-executed to join the container; its main
	// must call IsStage and RunStage first, as dockah-activate does.
	// Empty means this binary.
	Helper string
	// Attach, if set, is called with the helper's host pid before it
	// joins the container, to move it into the container's cgroup (the
	// CLI asks systemd); the command inherits the cgroup.
	Attach func(pid int) error
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
// opts.Pid, in all its namespaces, its root, its cgroup (see Attach), as
// its user and under its security policy, and returns the command's exit
// status (128+N when killed by signal N). When the command could not be
// run, err says why and the status is ExitNotFound, ExitCannotRun or
// ExitSetupFailed.
//
// The helper (this binary re-executed) stays in the host's pid namespace
// and joins the container on one thread; it drops to the container's
// user and policy on that thread and forks the command from it, so the
// command is born inside, with the policy, and nothing of the host is
// visible from the container but for the instant before the command's
// exec, while the helper is not dumpable.
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
	helper, err := helperPath(opts.Helper)
	if err != nil {
		theirs.Close()
		return ExitSetupFailed, err
	}
	cmd := exec.Command(helper)
	cmd.Args = []string{"dockah-activate", "[exec " + opts.Config.Name + "]"}
	cmd.Env = []string{stageEnv + "=3", execStageEnv + "=1"}
	cmd.ExtraFiles = []*os.File{theirs}
	var relay io.Writer
	cmd.Stdin, cmd.Stdout, cmd.Stderr, relay = execStdio(opts)
	// The helper's output is drained for a moment after it exits; a
	// background process of the command holding it open must not hang
	// the caller.
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Out of the caller's process group, so that a Ctrl-C reaches
		// the command once, forwarded, not once per process.
		Setpgid: true,
		// A caller that dies takes the command with it: the helper
		// forwards this to the command.
		Pdeathsig: syscall.SIGTERM,
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return ExitSetupFailed, fmt.Errorf("start %s: %w", helper, err)
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
	if x.opts.Attach != nil {
		if err := x.opts.Attach(x.cmd.Process.Pid); err != nil {
			return x.fail(fmt.Errorf("move into the container's cgroup: %w", err))
		}
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

// started reads the helper's word: msgExec (with the terminal's master
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
		return nil, errors.New(string(msg))
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

// fail stops a helper that has not run the command yet.
func (x *execution) fail(err error) (int, error) {
	_ = x.cmd.Process.Kill()
	_ = x.cmd.Wait()
	return ExitSetupFailed, err
}

// exitStatus waits for the helper, which exits with the command's status.
func (x *execution) exitStatus() int { return waitStatus(x.cmd.Wait()) }

// forwardedSignals are passed on to the command.
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

func helperPath(helper string) (string, error) {
	if helper != "" {
		return helper, nil
	}
	return os.Executable()
}

// execStdio returns the helper's stdin, stdout and stderr, which the
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
		// The command gets the new terminal; the helper only reports
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

// runExecStage is the helper: it joins the container of the request's
// pid on this (locked) thread, becomes the container's user under its
// policy, starts the command from this thread, reports, and exits with
// the command's status. Failures before the command runs are reported
// on sync and end the process with their status.
func runExecStage(sync *os.File) error {
	os.Unsetenv(execStageEnv)
	// Until it execs, the command is a copy of this process, inside the
	// container's pid namespace: not dumpable, its memory, fds and
	// /proc/PID/exe (the host's binary, CVE-2019-5736) stay out of the
	// container's reach.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the exec stage undumpable: %w", err)
	}
	var req execRequest
	if err := json.NewDecoder(io.LimitReader(sync, maxConfigSize)).Decode(&req); err != nil {
		return fmt.Errorf("read the exec request: %w", err)
	}
	if req.Config == nil || req.Config.Spec == nil || req.Config.Spec.Process == nil || len(req.Args) == 0 {
		return errors.New("exec request without configuration or command")
	}
	cmd, tty, err := prepareCommand(&req)
	if err != nil {
		var st statusError
		if errors.As(err, &st) {
			report(sync, err)
			os.Exit(st.status)
		}
		return err
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, forwardedSignals...)
	if err := cmd.Start(); err != nil {
		status := ExitCannotRun
		if errors.Is(err, unix.ENOENT) {
			status = ExitNotFound
		}
		report(sync, fmt.Errorf("run %s: %w", cmd.Path, err))
		os.Exit(status)
	}
	if err := reportStarted(sync, tty); err != nil {
		_ = cmd.Process.Kill()
	}
	sync.Close()
	go func() {
		for sig := range signals {
			_ = cmd.Process.Signal(sig)
		}
	}()
	os.Exit(waitStatus(cmd.Wait()))
	return nil
}

// statusError is a failure of the exec stage that has its own exit status.
type statusError struct {
	status int
	err    error
}

func (e statusError) Error() string { return e.err.Error() }
func (e statusError) Unwrap() error { return e.err }

// prepareCommand joins the container and takes on the command's identity
// and policy on this thread, and returns the command ready to start from
// it (and the terminal, when asked for one).
func prepareCommand(req *execRequest) (*exec.Cmd, *pty, error) {
	proc := *req.Config.Spec.Process
	// The exec label is per thread and set through /proc/thread-self,
	// which the container's /proc does not show for this process: set
	// it while the host's /proc is in view.
	if err := setExecLabel(proc.SelinuxLabel); err != nil {
		return nil, nil, err
	}
	proc.SelinuxLabel = ""
	if err := joinContainer(req.Pid); err != nil {
		return nil, nil, err
	}
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open the container's root: %w", err)
	}
	defer unix.Close(root)
	specUser := proc.User
	if req.User != "" {
		specUser = specs.User{Username: req.User}
	}
	user, err := lookupUser(root, specUser)
	if err != nil {
		return nil, nil, err
	}
	env := processEnv(append(append([]string{}, proc.Env...), req.Env...), user, nil, 0)
	argv0, err := lookPath(root, req.Args[0], env)
	if err != nil {
		return nil, nil, statusError{ExitNotFound, err}
	}
	cwd := proc.Cwd
	if req.Cwd != "" {
		cwd = req.Cwd
	}
	if err := enterWorkdir(root, cwd); err != nil {
		return nil, nil, err
	}
	cmd := &exec.Cmd{Path: argv0, Args: req.Args, Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	// Its own session: no signal from the caller's terminal reaches it
	// but through the helper.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var tty *pty
	if req.TTY {
		if tty, err = openPTY(root, user, req.Size); err != nil {
			return nil, nil, err
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty.slave, tty.slave, tty.slave
		cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0
	}
	if err := applyRlimits(proc.Rlimits); err != nil {
		return nil, nil, err
	}
	cfg := *req.Config
	cfg.Spec = &specs.Spec{Process: &proc}
	if err := dropPrivileges(&cfg, user); err != nil {
		return nil, nil, err
	}
	unix.Umask(0o022)
	if proc.NoNewPrivileges {
		// Last, as for the entrypoint: the fork and exec of the
		// command must pass the filter like any syscall of it.
		if err := loadSeccomp(cfg.Seccomp); err != nil {
			return nil, nil, err
		}
	}
	return cmd, tty, nil
}

// containerNamespaces are joined in this order; the mount namespace is
// last, since joining it changes what /proc shows.
var containerNamespaces = []struct {
	name string
	flag int
}{
	{"cgroup", unix.CLONE_NEWCGROUP}, {"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS},
	{"net", unix.CLONE_NEWNET}, {"pid", unix.CLONE_NEWPID}, {"mnt", unix.CLONE_NEWNS},
}

// joinContainer moves this thread into the namespaces and the root of
// pid. Joining a pid namespace affects only the children this thread
// makes, which is why the command is forked from here.
func joinContainer(pid int) error {
	dir := "/proc/" + strconv.Itoa(pid)
	type target struct{ fd, flag int }
	var targets []target
	defer func() {
		for _, t := range targets {
			unix.Close(t.fd)
		}
	}()
	for _, ns := range containerNamespaces {
		fd, err := unix.Open(dir+"/ns/"+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && ns.name == "cgroup" {
			continue // a kernel without cgroup namespaces
		}
		if err != nil {
			return fmt.Errorf("open the container's %s namespace: %w", ns.name, err)
		}
		targets = append(targets, target{fd, ns.flag})
		if same, _ := sameFile(fd, "/proc/thread-self/ns/"+ns.name); same {
			targets[len(targets)-1].flag = 0 // shared with the host: nothing to join
		}
	}
	// Its root, opened before the mount namespace changes what
	// /proc/PID means.
	root, err := unix.Open(dir+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the container's root: %w", err)
	}
	defer unix.Close(root)
	// setns(CLONE_NEWNS) refuses a thread that shares its root and
	// working directory with others, as every Go thread does.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare the file system attributes: %w", err)
	}
	for _, t := range targets {
		if t.flag == 0 {
			continue
		}
		if err := unix.Setns(t.fd, t.flag); err != nil {
			return fmt.Errorf("join the container's namespace (%#x): %w", t.flag, err)
		}
	}
	// setns put us at the namespace's root mount; the init's root is
	// where the container lives (nsenter --root does the same).
	if err := unix.Fchdir(root); err != nil {
		return fmt.Errorf("enter the container's root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("enter the container's root: %w", err)
	}
	return nil
}

// sameFile reports whether fd and the file at path are the same inode.
func sameFile(fd int, path string) (bool, error) {
	var a, b unix.Stat_t
	if err := unix.Fstat(fd, &a); err != nil {
		return false, err
	}
	if err := unix.Stat(path, &b); err != nil {
		return false, err
	}
	return a.Dev == b.Dev && a.Ino == b.Ino, nil
}

// reportStarted tells the caller the command runs, handing it the
// terminal's master when there is one.
func reportStarted(sync *os.File, tty *pty) error {
	msg := []byte{msgExec}
	if tty == nil {
		_, err := sync.Write(msg)
		return err
	}
	defer tty.close()
	return unix.Sendmsg(int(sync.Fd()), msg, unix.UnixRights(int(tty.master.Fd())), nil, 0)
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
