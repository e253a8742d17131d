package forward

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A relay moves the forwarded stream connections, as systemd-socket-proxyd
// does: an epoll loop on one thread accepts, connects into the container
// and splices both ways through a pipe per direction. No goroutine per
// connection and no netpoller hand-offs: a new connection costs accept4,
// socket, connect and two epoll_ctl, and its bytes never enter user space.
// Each loop's thread has joined the container's network namespace, so the
// sockets it creates connect to the container's loopback; the listening
// sockets are the host's and are accepted from wherever.

// relayPipeCap bounds the data in flight per direction of a connection:
// the pipe's capacity, which is also the most one splice moves. 256 KiB,
// as systemd-socket-proxyd: fewer system calls per MiB than the default
// 64 KiB, and pages are only taken while data is in flight.
const relayPipeCap = 256 << 10

// relayPipePool is how many drained pipes a loop keeps for new connections.
const relayPipePool = 32

// relayTarget is one forwarded listening socket and where its connections
// go.
type relayTarget struct {
	listener int // our duplicate of the activated socket, non-blocking
	// to is the container's address and port the connections go to.
	to   unix.Sockaddr
	port int
}

// relayHooks connect the loops to their forwarder.
type relayHooks struct {
	// track counts open connections (+1, -1).
	track func(delta int)
	// log writes a journal line; logConnections adds one per client.
	log            func(string)
	logConnections bool
}

// relay is a set of loops serving the same targets.
type relay struct {
	loops []*relayLoop
	done  sync.WaitGroup
}

// relayLoop is one epoll loop and the connections it accepted.
type relayLoop struct {
	hooks   relayHooks
	targets map[int]relayTarget // by listener fd
	epfd    int
	wake    int // eventfd: a command is waiting in cmd
	mu      sync.Mutex
	cmd     relayCommand
	conns   map[int]*relayConn // both fds of a connection
	pipes   []relayPipe        // drained pipes for reuse
	events  []unix.EpollEvent
}

type relayCommand int

const (
	relayRun relayCommand = iota
	relayStopAccepting
	relayQuit
)

// relayConn is one client connection and its connection into the container.
type relayConn struct {
	client, server int
	port           int // the container's
	connecting     bool
	up, down       relayDirection // client to server, server to client
}

// relayDirection is one way of a connection: src spliced into a pipe, the
// pipe spliced into dst.
type relayDirection struct {
	src, dst     int
	pipe         relayPipe
	pending      int // bytes in the pipe
	eof, shutDst bool
}

// startRelay starts loops that serve targets until quit. netns is the
// container's network namespace (-1: the caller's own, for tests).
func startRelay(netns int, targets []relayTarget, loops int, hooks relayHooks) (*relay, error) {
	r := &relay{}
	started := make(chan error, loops)
	for i := 0; i < loops; i++ {
		l, err := newRelayLoop(targets, hooks)
		if err != nil {
			r.quit()
			return nil, err
		}
		r.loops = append(r.loops, l)
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			l.run(netns, started)
		}()
	}
	var errs []error
	for range r.loops {
		if err := <-started; err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		r.quit()
		return nil, err
	}
	return r, nil
}

// stopAccepting leaves new connections in the backlog of the activated
// socket, where systemd sees them; open connections go on.
func (r *relay) stopAccepting() { r.send(relayStopAccepting) }

// quit closes every connection and ends the loops.
func (r *relay) quit() {
	r.send(relayQuit)
	r.done.Wait()
}

func (r *relay) send(c relayCommand) {
	for _, l := range r.loops {
		l.mu.Lock()
		if c > l.cmd {
			l.cmd = c
		}
		l.mu.Unlock()
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		_, _ = unix.Write(l.wake, one[:])
	}
}

func newRelayLoop(targets []relayTarget, hooks relayHooks) (*relayLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("forwarder: epoll: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("forwarder: eventfd: %w", err)
	}
	l := &relayLoop{
		hooks: hooks, targets: map[int]relayTarget{}, epfd: epfd, wake: wake,
		conns: map[int]*relayConn{}, events: make([]unix.EpollEvent, 64),
	}
	if err := l.watch(wake, unix.EPOLLIN); err != nil {
		l.close()
		return nil, err
	}
	for _, t := range targets {
		// Exclusive: a connection wakes one loop, not all of them.
		if err := l.watch(t.listener, unix.EPOLLIN|unix.EPOLLEXCLUSIVE); err != nil {
			l.close()
			return nil, err
		}
		l.targets[t.listener] = t
	}
	return l, nil
}

func (l *relayLoop) watch(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("forwarder: watch fd %d: %w", fd, err)
	}
	return nil
}

func (l *relayLoop) close() {
	unix.Close(l.wake)
	unix.Close(l.epfd)
}

// run is the loop. Its thread joins netns and never leaves it: when run
// returns while locked, Go ends the thread instead of reusing it.
func (l *relayLoop) run(netns int, started chan<- error) {
	runtime.LockOSThread()
	defer l.close()
	if netns >= 0 {
		if err := unix.Setns(netns, unix.CLONE_NEWNET); err != nil {
			started <- fmt.Errorf("forwarder: join the container's network namespace: %w", err)
			return
		}
	}
	started <- nil
	for {
		n, err := l.wait()
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			l.hooks.log(fmt.Sprintf("forwarder: epoll_wait: %v", err))
			l.closeAll()
			return
		}
		for _, ev := range l.events[:n] {
			fd := int(ev.Fd)
			if fd == l.wake {
				if l.command() == relayQuit {
					l.closeAll()
					return
				}
				continue
			}
			if t, ok := l.targets[fd]; ok {
				l.accept(t)
				continue
			}
			if c := l.conns[fd]; c != nil {
				l.step(c, fd == c.server, ev.Events)
			}
		}
	}
}

// wait returns the next events. During a transfer something is usually
// ready at once: a poll that does not block skips Go's blocking-syscall
// hand-off of the thread's processor, which a wait that blocks needs.
func (l *relayLoop) wait() (int, error) {
	timeout := 0
	if len(l.conns) > 0 {
		timeout = relayBusyWait
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.epfd),
		uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), uintptr(timeout), 0, 0)
	if errno == 0 && n > 0 {
		return int(n), nil
	}
	return unix.EpollWait(l.epfd, l.events, -1)
}

// relayBusyWait is how long, in milliseconds, a loop with open
// connections waits for its next event keeping its processor, before it
// waits the way that hands it over (see relayLoops, which leaves one
// for everything else).
const relayBusyWait = 2

// command reads the eventfd and acts on what it says.
func (l *relayLoop) command() relayCommand {
	var buf [8]byte
	_, _ = unix.Read(l.wake, buf[:])
	l.mu.Lock()
	cmd := l.cmd
	l.mu.Unlock()
	if cmd >= relayStopAccepting {
		for fd := range l.targets {
			_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
			delete(l.targets, fd)
		}
	}
	return cmd
}

// accept takes every waiting connection of a listening socket.
func (l *relayLoop) accept(t relayTarget) {
	for {
		client, from, err := unix.Accept4(t.listener, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case err == nil:
			l.open(client, from, t)
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
		case errors.Is(err, unix.EAGAIN):
			return // another loop may have taken it
		default:
			// Out of descriptors or memory: what waits stays in the
			// backlog until a connection closes.
			l.hooks.log(fmt.Sprintf("forwarder: accept on the socket of port %d: %v", t.port, err))
			return
		}
	}
}

// open connects a new client to the container's port and starts relaying.
func (l *relayLoop) open(client int, from unix.Sockaddr, t relayTarget) {
	port := t.port
	if l.hooks.logConnections {
		l.hooks.log(fmt.Sprintf("connection from %s to port %d", sockaddrString(from), port))
	}
	family := unix.AF_INET
	if _, v6 := t.to.(*unix.SockaddrInet6); v6 {
		family = unix.AF_INET6
	}
	server, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		l.refuse(client, from, port, err)
		return
	}
	// As net.Dial does: the small writes of a request/response protocol
	// must not wait for Nagle's algorithm.
	_ = unix.SetsockoptInt(server, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(server, t.to)
	connecting := errors.Is(err, unix.EINPROGRESS)
	if err != nil && !connecting {
		unix.Close(server)
		l.refuse(client, from, port, err)
		return
	}
	up, err := l.pipe()
	if err != nil {
		unix.Close(server)
		l.refuse(client, from, port, err)
		return
	}
	down, err := l.pipe()
	if err != nil {
		l.release(up, true)
		unix.Close(server)
		l.refuse(client, from, port, err)
		return
	}
	c := &relayConn{
		client: client, server: server, port: port, connecting: connecting,
		up:   relayDirection{src: client, dst: server, pipe: up},
		down: relayDirection{src: server, dst: client, pipe: down},
	}
	l.conns[client], l.conns[server] = c, c
	l.hooks.track(+1)
	// Edge-triggered: each wake-up moves what it can until EAGAIN.
	events := uint32(unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET)
	if err := l.watch(client, events); err != nil {
		l.hooks.log(err.Error())
		l.drop(c)
		return
	}
	if err := l.watch(server, events); err != nil {
		l.hooks.log(err.Error())
		l.drop(c)
		return
	}
	if !connecting {
		l.step(c, false, 0)
	}
}

// refuse closes a client that cannot be connected.
func (l *relayLoop) refuse(client int, from unix.Sockaddr, port int, err error) {
	unix.Close(client)
	l.hooks.log(fmt.Sprintf("connection from %s: port %d in the container: %v", sockaddrString(from), port, err))
}

// step moves what can be moved after an event on one side of c.
func (l *relayLoop) step(c *relayConn, onServer bool, events uint32) {
	if c.connecting {
		if !onServer || events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return // the client's data waits in its socket
		}
		soErr, err := unix.GetsockoptInt(c.server, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && soErr != 0 {
			err = unix.Errno(soErr)
		}
		if err != nil {
			l.hooks.log(fmt.Sprintf("connection to port %d in the container: %v", c.port, err))
			l.drop(c)
			return
		}
		c.connecting = false
		events = 0
	}
	// Only the directions the event concerns: readable feeds the way out
	// of that side, writable drains the way into it.
	readable := events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	writable := events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0
	upMoves, downMoves := readable, writable // an event on the client
	if onServer {
		upMoves, downMoves = writable, readable
	}
	if events == 0 { // just connected: try both
		upMoves, downMoves = true, true
	}
	if upMoves {
		if err := c.up.pump(); err != nil {
			l.drop(c)
			return
		}
	}
	if downMoves {
		if err := c.down.pump(); err != nil {
			l.drop(c)
			return
		}
	}
	if c.up.shutDst && c.down.shutDst {
		l.drop(c)
	}
}

// pump moves data from src to dst until neither side can go on, and
// shuts dst for writing once src has ended and the pipe is drained
// (half-close). It reads while the pipe has room, not only when it is
// empty, so that both sockets stay busy on a long transfer.
func (d *relayDirection) pump() error {
	for {
		moved := false
		if !d.eof && d.pending < d.pipe.capacity {
			n, err := unix.Splice(d.src, nil, d.pipe.fds[1], nil, d.pipe.capacity-d.pending, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			switch {
			case err == nil && n == 0:
				d.eof, moved = true, true
			case err == nil:
				d.pending += int(n)
				moved = true
			case errors.Is(err, unix.EINTR):
				moved = true
			case !errors.Is(err, unix.EAGAIN):
				// EAGAIN: src has nothing now (or the pipe is full,
				// which the next drain retries).
				return err
			}
		}
		if d.pending > 0 {
			n, err := unix.Splice(d.pipe.fds[0], nil, d.dst, nil, d.pending, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			switch {
			case err == nil:
				d.pending -= int(n)
				moved = moved || n > 0
			case errors.Is(err, unix.EINTR):
				moved = true
			case !errors.Is(err, unix.EAGAIN):
				return err // EAGAIN: dst is full, wait for EPOLLOUT
			}
		}
		if d.eof && d.pending == 0 {
			if !d.shutDst {
				d.shutDst = true
				if err := unix.Shutdown(d.dst, unix.SHUT_WR); err != nil && !errors.Is(err, unix.ENOTCONN) {
					return err
				}
			}
			return nil
		}
		if !moved {
			return nil
		}
	}
}

// drop closes both sockets of c and keeps its pipes if they are empty.
func (l *relayLoop) drop(c *relayConn) {
	delete(l.conns, c.client)
	delete(l.conns, c.server)
	unix.Close(c.client)
	unix.Close(c.server)
	l.release(c.up.pipe, c.up.pending > 0)
	l.release(c.down.pipe, c.down.pending > 0)
	l.hooks.track(-1)
}

// relayPipe is a pipe and how much it holds.
type relayPipe struct {
	fds      [2]int // read end, write end
	capacity int
}

// pipe returns an empty pipe, from the pool when there is one.
func (l *relayLoop) pipe() (relayPipe, error) {
	if n := len(l.pipes); n > 0 {
		p := l.pipes[n-1]
		l.pipes = l.pipes[:n-1]
		return p, nil
	}
	p := relayPipe{capacity: 64 << 10}
	if err := unix.Pipe2(p.fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return p, fmt.Errorf("pipe: %w", err)
	}
	// An unprivileged process may be held to less than relayPipeCap by
	// /proc/sys/fs/pipe-user-pages-soft: then the default it has.
	if size, err := unix.FcntlInt(uintptr(p.fds[0]), unix.F_SETPIPE_SZ, relayPipeCap); err == nil {
		p.capacity = size
	} else if size, err := unix.FcntlInt(uintptr(p.fds[0]), unix.F_GETPIPE_SZ, 0); err == nil {
		p.capacity = size
	}
	return p, nil
}

// release returns a pipe to the pool, or closes it if it still holds data
// or the pool is full.
func (l *relayLoop) release(p relayPipe, dirty bool) {
	if !dirty && len(l.pipes) < relayPipePool {
		l.pipes = append(l.pipes, p)
		return
	}
	unix.Close(p.fds[0])
	unix.Close(p.fds[1])
}

// closeAll ends every connection and empties the pool.
func (l *relayLoop) closeAll() {
	for _, c := range l.conns {
		if _, open := l.conns[c.client]; open {
			l.drop(c)
		}
	}
	for _, p := range l.pipes {
		unix.Close(p.fds[0])
		unix.Close(p.fds[1])
	}
	l.pipes = nil
	for fd := range l.targets {
		delete(l.targets, fd)
	}
}

// sockaddrString formats a client's address for the journal.
func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrUnix:
		if a.Name == "" {
			return "a unix socket peer"
		}
		return a.Name
	default:
		return "an unknown peer"
	}
}
