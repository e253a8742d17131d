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
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The exec stage, the other side of Exec: it joins the container and
// starts the command from a thread that has become the container's.

// runExecStage is the exec stage: it joins the container of the request's
// pid on this (locked) thread, becomes the container's user under its
// policy, starts the command from this thread, reports, and exits with
// the command's status. Failures before the command runs are reported
// on sync and end the process with their status.
func runExecStage(sync *os.File) error {
	// Nothing inherited goes on to the command: not the sync socket,
	// not the sealed copy of this binary this process runs from (its
	// fd, in execStageEnv, is not needed once running).
	// A container with a user namespace of its own gets its command
	// through the exec trampoline, which is that copy.
	var self *os.File
	if fd, err := strconv.Atoi(os.Getenv(execStageEnv)); err == nil && fd > 3 {
		if os.Getenv(execUserNSEnv) == "1" {
			self = os.NewFile(uintptr(fd), "trampoline")
		} else {
			unix.Close(fd)
		}
	}
	os.Unsetenv(execStageEnv)
	os.Unsetenv(execUserNSEnv)
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close fds at exec: %w", err)
	}
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
	cmd, tty, err := prepareCommand(&req, self)
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

// CommandStatus returns the exit status that err stands for when it is a
// command that could not be found (ExitNotFound) or run (ExitCannotRun),
// as shells and docker run report them.
func CommandStatus(err error) (int, bool) {
	var st statusError
	if errors.As(err, &st) {
		return st.status, true
	}
	return 0, false
}

// prepareCommand joins the container and takes on the command's identity
// and policy on this thread, and returns the command ready to start from
// it (and the terminal, when asked for one).
//
// self, for a container with a user namespace of its own, is the exec
// trampoline (this binary's sealed copy): the command starts as it, and
// this thread keeps the host's privileges, which the trampoline drops
// once it has joined the user namespace.
func prepareCommand(req *execRequest, self *os.File) (*exec.Cmd, *pty, error) {
	proc := *req.Config.Spec.Process
	// The exec label is per thread and set through /proc/thread-self,
	// which the container's /proc does not show for this process: set
	// it while the host's /proc is in view. The trampoline, a process
	// of the container's pid namespace, sets it itself, once it has
	// joined the user namespace: it must exec as the shim's domain.
	if self == nil {
		if err := setExecLabel(proc.SelinuxLabel); err != nil {
			return nil, nil, err
		}
		proc.SelinuxLabel = ""
	}
	var userns *os.File
	if self != nil {
		// Opened while the host's /proc is in view.
		var err error
		if userns, err = os.Open("/proc/" + strconv.Itoa(req.Pid) + "/ns/user"); err != nil {
			return nil, nil, fmt.Errorf("open the container's user namespace: %w", err)
		}
	}
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
		return nil, nil, err
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
	// but through the exec stage.
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
	if userns != nil {
		unix.Umask(0o022)
		return cmd, tty, trampolineCommand(cmd, self, userns, &cfg, user)
	}
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
		mine := ns.name
		if mine == "pid" {
			// What this thread's children join: the exec stage of a
			// container with a user namespace has joined it already.
			mine = "pid_for_children"
		}
		if same, _ := sameFile(fd, "/proc/thread-self/ns/"+mine); same {
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
