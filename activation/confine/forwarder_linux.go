package confine

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// The forwarder is a process of its own, this executable started again:
// its constructor (early_linux.go) joins the container's network
// namespace, takes an empty root and gives up every capability before the
// Go runtime starts a thread, and Forwarder loads its seccomp filter on
// every thread. Its parent, the shim, keeps what needs privileges (telling
// systemd the container is ready, the audit record, stopping the unit when
// idle); the two talk over a control socket.

const (
	// forwarderEnv marks the forwarder: "NETNS_FD:PARENT_PID", read by
	// the constructor.
	forwarderEnv = "_DOCKAH_FORWARDER"
	// forwarderFilesEnv is how many files the forwarder got, fd 5 and on.
	forwarderFilesEnv = "_DOCKAH_FORWARDER_FILES"
)

// The forwarder's descriptors: the network namespace (closed by the
// constructor once joined), the control socket, then the files.
const (
	netnsFd = 3
	// ForwarderControlFd is the forwarder's end of the control socket,
	// where it reports even a failure of Forwarder.
	ForwarderControlFd = 4
	firstFileFd        = 5
)

// IsForwarder reports whether this process was started as the forwarder
// (StartForwarder). main calls it first thing and, if so, Forwarder.
func IsForwarder() bool { return os.Getenv(forwarderEnv) != "" }

// ForwarderProcess is the started forwarder, seen from the shim.
type ForwarderProcess struct {
	Cmd *exec.Cmd
	// Control is the shim's end of the control socket (SOCK_SEQPACKET:
	// each write is one message).
	Control *os.File
}

// StartForwarder starts this executable as the forwarder: joined to the
// network namespace netns, with files (the activated sockets) as fd 5 and
// on, stderr for its journal lines, and env (NAME=VALUE) besides its
// markers. It dies with the calling thread's process.
func StartForwarder(netns *os.File, files []*os.File, stderr *os.File, name string, env []string) (*ForwarderProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create the forwarder's control socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(pair[0]), "control"), os.NewFile(uintptr(pair[1]), "control")
	defer theirs.Close()
	cmd := exec.Command(self)
	cmd.Args = []string{"dockah-activate", "[forward " + name + "]"}
	cmd.Env = append([]string{
		fmt.Sprintf("%s=%d:%d", forwarderEnv, netnsFd, os.Getpid()),
		forwarderFilesEnv + "=" + strconv.Itoa(len(files)),
	}, env...)
	cmd.ExtraFiles = append([]*os.File{netns, theirs}, files...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, fmt.Errorf("start the forwarder: %w", err)
	}
	return &ForwarderProcess{Cmd: cmd, Control: ours}, nil
}

// Forwarder completes the confinement of the forwarder, in the process
// StartForwarder started, before it touches a connection: it checks that
// the constructor did every step and loads the forwarder's seccomp filter
// on every thread. It returns the control socket and the files.
func Forwarder() (control *os.File, files []*os.File, err error) {
	if err := earlyForwarder(); err != nil {
		return nil, nil, fmt.Errorf("confine the forwarder: %w", err)
	}
	n, err := strconv.Atoi(os.Getenv(forwarderFilesEnv))
	if err != nil || n < 0 || n > 1024 {
		return nil, nil, fmt.Errorf("confine the forwarder: bad %s", forwarderFilesEnv)
	}
	prog, err := forwarderFilter(unix.Getpid())
	if err != nil {
		return nil, nil, err
	}
	if err := loadFilter(prog); err != nil {
		return nil, nil, err
	}
	for i := range n {
		files = append(files, os.NewFile(uintptr(firstFileFd+i), "socket"))
	}
	return os.NewFile(ForwarderControlFd, "control"), files, nil
}
