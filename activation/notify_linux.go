package activation

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// NotifySocketEnv is where systemd tells a Type=notify service its socket.
const NotifySocketEnv = "NOTIFY_SOCKET"

// ErrNoNotifySocket means the shim was not started by systemd as a
// Type=notify service.
var ErrNoNotifySocket = errors.New("NOTIFY_SOCKET is not set")

// Notify sends state (for example "MAINPID=42\nREADY=1") to systemd and
// waits until systemd has processed it. The wait matters: the shim exits
// right after handing over the main pid, and systemd must not see the
// shim's exit before it knows the new main pid. It uses the BARRIER=1
// protocol: systemd closes the passed pipe once it has read everything
// sent before it.
func Notify(state string, timeout time.Duration) error {
	b, err := NotifyAsync(state)
	if err != nil {
		return err
	}
	return b.Wait(timeout)
}

// Barrier is a BARRIER=1 sent to systemd after a state: Wait returns once
// systemd has read the state.
type Barrier struct{ fd int }

// NotifyAsync sends state and a barrier behind it, and returns without
// waiting for systemd. The state is in systemd's queue when it returns,
// and systemd reads its notification socket before it reaps children, so
// a process started afterwards cannot end before systemd knows of it; only
// the sender's own exit must wait for the barrier.
func NotifyAsync(state string) (*Barrier, error) {
	path := os.Getenv(NotifySocketEnv)
	if path == "" {
		return nil, ErrNoNotifySocket
	}
	addr := &unix.SockaddrUnix{Name: path}
	if path[0] == '@' {
		addr.Name = "\x00" + path[1:]
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("notify systemd: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Sendmsg(fd, []byte(state), nil, addr, 0); err != nil {
		return nil, fmt.Errorf("notify systemd: %w", err)
	}
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("notify systemd: %w", err)
	}
	rights := unix.UnixRights(pipe[1])
	err = unix.Sendmsg(fd, []byte("BARRIER=1"), rights, addr, 0)
	unix.Close(pipe[1])
	if err != nil {
		unix.Close(pipe[0])
		return nil, fmt.Errorf("notify systemd (barrier): %w", err)
	}
	return &Barrier{fd: pipe[0]}, nil
}

// Wait waits until systemd has read everything sent before the barrier,
// at most timeout, and releases the barrier.
func (b *Barrier) Wait(timeout time.Duration) error {
	defer unix.Close(b.fd)
	fds := []unix.PollFd{{Fd: int32(b.fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("notify systemd (barrier): %w", err)
		}
		if n == 0 {
			return fmt.Errorf("notify systemd: no answer to BARRIER=1 in %s", timeout)
		}
		return nil // POLLHUP: systemd closed its copy
	}
}
