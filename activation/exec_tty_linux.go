package activation

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// pty is a terminal allocated for an exec inside the container.
type pty struct{ master, slave *os.File }

func (p *pty) close() {
	p.master.Close()
	p.slave.Close()
}

// openPTY allocates a terminal in the container's own devpts instance
// (its /dev/pts/ptmx, resolved inside root), so the command sees a
// /dev/pts/N of its container, and gives the slave side to user. The
// caller gets the master.
func openPTY(root int, user User, size *winsize) (*pty, error) {
	fd, err := openInRoot(root, "/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY)
	if err != nil {
		return nil, fmt.Errorf("allocate a terminal: %w", err)
	}
	master := os.NewFile(uintptr(fd), "ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, fmt.Errorf("unlock the terminal: %w", err)
	}
	// TIOCGPTPEER opens the slave through the master, not by a path in
	// /dev/pts that the container could have replaced.
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		master.Close()
		return nil, fmt.Errorf("open the terminal's slave: %w", errno)
	}
	p := &pty{master: master, slave: os.NewFile(sfd, "pts")}
	if err := unix.Fchown(int(sfd), int(user.UID), -1); err != nil {
		p.close()
		return nil, fmt.Errorf("give the terminal to uid %d: %w", user.UID, err)
	}
	if size != nil {
		if err := unix.IoctlSetWinsize(int(sfd), unix.TIOCSWINSZ, &unix.Winsize{Row: size.Rows, Col: size.Cols}); err != nil {
			p.close()
			return nil, fmt.Errorf("set the terminal's size: %w", err)
		}
	}
	return p, nil
}

// HostTerminal allocates a terminal on the host's devpts for a program
// that systemd starts ("dockah run -t": the unit's TTYPath=), sized like
// the caller's terminal. It returns the master and the slave side, open,
// whose Name is the path for TTYPath=. The caller holds the slave open
// until the program has ended, then closes it: systemd 257 opens and
// closes the terminal once before it acquires it for the program, and a
// terminal whose slave side nobody holds reads as hung up (EIO) at the
// master, which would end the relay and, with the master, the terminal.
func HostTerminal(stdin io.Reader, stdout io.Writer) (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("allocate a terminal: %w", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock the terminal: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("name the terminal: %w", err)
	}
	// O_NOCTTY: the terminal must not become ours, or systemd could not
	// make it the program's controlling terminal.
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		master.Close()
		return nil, nil, fmt.Errorf("open the terminal's slave: %w", errno)
	}
	if s := terminalSize(stdin, stdout); s != nil {
		_ = unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: s.Rows, Col: s.Cols})
	}
	return master, os.NewFile(sfd, fmt.Sprintf("/dev/pts/%d", n)), nil
}

// terminalSize returns the size of the caller's terminal (stdout, or
// else stdin), or nil when neither is one.
func terminalSize(in io.Reader, out io.Writer) *winsize {
	for _, s := range []any{out, in} {
		if f, ok := s.(*os.File); ok {
			if cols, rows, err := term.GetSize(int(f.Fd())); err == nil {
				return &winsize{Rows: uint16(rows), Cols: uint16(cols)}
			}
		}
	}
	return nil
}

// relayTerminal copies the caller's input to the terminal's master and the
// terminal's output to the caller until the command's side is closed,
// with the caller's terminal in raw mode (so Ctrl-C and the like reach
// the command as keys) and its size changes passed on.
func relayTerminal(master *os.File, opts ExecOptions, stdout io.Writer) {
	RelayTerminal(master, opts.Stdin, stdout)
}

// RelayTerminal copies stdin to the terminal's master and the terminal's
// output to stdout until the other side is closed, with stdin's terminal
// in raw mode (so Ctrl-C and the like reach the program as keys) and its
// size changes passed on. "dockah run -t" uses it too.
func RelayTerminal(master *os.File, stdin io.Reader, stdout io.Writer) {
	defer master.Close()
	fd := int(master.Fd())
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if state, err := term.MakeRaw(int(f.Fd())); err == nil {
			defer func() { _ = term.Restore(int(f.Fd()), state) }()
		}
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer func() {
		signal.Stop(winch)
		close(winch)
	}()
	go func() {
		for range winch {
			if s := terminalSize(stdin, stdout); s != nil {
				_ = unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: s.Rows, Col: s.Cols})
			}
		}
	}()
	if stdin != nil {
		// Blocks in a read of the caller's input until the next key or
		// EOF; the caller exits soon after the command anyway.
		go func() { _, _ = io.Copy(master, stdin) }()
	}
	// Ends with EIO once the command and everything holding the slave
	// side are gone, after the last output.
	_, _ = io.Copy(stdout, master)
}

// lockedWriter serializes writes to a writer shared by the terminal's
// relay and the exec stage's stderr (often the same terminal or buffer). It
// has no ReadFrom, so copies into it never hold the writer's buffer
// across a blocking read.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
