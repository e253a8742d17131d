package activation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Forward is one activated socket whose connections go to a port of the
// container instead of being passed in: for images that bind their own
// port and know nothing of socket activation.
type Forward struct {
	// Listener is the listening socket systemd passed.
	Listener *os.File
	// Datagram is set for a datagram socket (ListenDatagram=).
	Datagram bool
	// Port is the container's port on its loopback.
	Port int
}

// ForwardOptions configure Forwarder.
type ForwardOptions struct {
	// Init is the host pid of the container's init: the forwarder ends
	// when it exits.
	Init int
	// NetNS is the container's network namespace, where connections
	// go (Container.NetNS); nil means /proc/Init/ns/net.
	NetNS *os.File
	// Forwards are the sockets to serve.
	Forwards []Forward
	// ReadyTimeout bounds the wait for the application to listen on its
	// port; connections meanwhile wait in the backlog.
	ReadyTimeout time.Duration
	// Ready, if set, is called once the application listens on every
	// forwarded stream port. If it returns an error the forwarder gives
	// up with it; connections are accepted only after it has returned:
	// for an application that reports its own readiness (notify = true),
	// listening is not yet ready, and Ready waits for that report.
	Ready func() error
	// IdleTimeout, if set, calls OnIdle after that long with no open
	// connection; the caller stops the unit and systemd keeps the socket.
	IdleTimeout time.Duration
	OnIdle      func()
	// Log receives one line per event worth the journal.
	Log func(string)
	// LogConnections logs each client's address (a journal line per
	// connection, which costs: off unless asked for).
	LogConnections bool
}

// ErrNeverListened means the application did not listen on its port
// within ReadyTimeout.
var ErrNeverListened = errors.New("the application never listened on its port")

// Forwarder relays connections from activated sockets into a container.
type Forwarder struct {
	opts   ForwardOptions
	dialer *nsDialer

	mu         sync.Mutex
	open       int       // connections being relayed
	lastActive time.Time // when open last dropped to zero
	pending    int       // forwards whose port is not known to listen yet
	readyErr   error     // what Ready returned
	accepting  chan struct{}
}

// ready records that one forward's port listens. When the last one does,
// it calls Ready and lets every forward accept; the others wait here.
func (f *Forwarder) ready() error {
	f.mu.Lock()
	f.pending--
	last := f.pending == 0
	f.mu.Unlock()
	if last {
		if f.opts.Ready != nil {
			f.readyErr = f.opts.Ready()
		}
		close(f.accepting)
	}
	<-f.accepting
	return f.readyErr
}

// RunForwarder serves the forwards until the container's init exits, the
// application never listens, or ctx ends. It returns nil when the init
// exited.
func RunForwarder(ctx context.Context, opts ForwardOptions) error {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	if opts.Log == nil {
		opts.Log = func(string) {}
	}
	initExited, err := pidExited(opts.Init)
	if err != nil {
		return err
	}
	dialer, err := newNSDialer(opts.Init, opts.NetNS, 4)
	if err != nil {
		return err
	}
	defer dialer.close()
	f := &Forwarder{opts: opts, dialer: dialer, lastActive: time.Now()}
	f.pending = len(opts.Forwards)
	f.accepting = make(chan struct{})
	// Accepting stops when the container is idle; the forwarder itself
	// stays until the container's init is gone.
	accepting, stopAccepting := context.WithCancel(ctx)
	defer stopAccepting()
	errs := make(chan error, len(opts.Forwards))
	for _, fw := range opts.Forwards {
		go func(fw Forward) { errs <- f.serve(accepting, fw) }(fw)
	}
	idle := f.idleTicker()
	for {
		select {
		case <-initExited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			if err != nil {
				if errors.Is(err, ErrNeverListened) {
					f.refusePending()
				}
				return err
			}
		case <-idle:
			if f.idleFor() >= opts.IdleTimeout {
				opts.Log(fmt.Sprintf("no connection for %s: stopping; the socket stays listening", opts.IdleTimeout))
				stopAccepting() // new connections wait in the backlog
				opts.OnIdle()
				idle = nil
			}
		}
	}
}

// refusePending closes the connections waiting in the backlogs: their
// clients learn at once that nothing will answer, and systemd does not
// start the failed container again and again for them.
func (f *Forwarder) refusePending() {
	for _, fw := range f.opts.Forwards {
		if fw.Datagram {
			continue
		}
		fd := int(fw.Listener.Fd())
		// Poll before each accept: the socket may be blocking, and its
		// flags are shared with systemd's copy, so they stay as they are.
		for {
			ready, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			if err != nil || ready == 0 {
				break
			}
			conn, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
			if err != nil {
				break
			}
			unix.Close(conn)
		}
	}
}

func (f *Forwarder) idleTicker() <-chan time.Time {
	if f.opts.IdleTimeout <= 0 || f.opts.OnIdle == nil {
		return nil
	}
	period := f.opts.IdleTimeout / 4
	if period > time.Second {
		period = time.Second
	}
	return time.NewTicker(period).C
}

// idleFor is how long no connection has been open; 0 while one is.
func (f *Forwarder) idleFor() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open > 0 {
		return 0
	}
	return time.Since(f.lastActive)
}

func (f *Forwarder) track(delta int) {
	f.mu.Lock()
	f.open += delta
	if f.open == 0 {
		f.lastActive = time.Now()
	}
	f.mu.Unlock()
}

// serve accepts on one socket once the application listens.
func (f *Forwarder) serve(ctx context.Context, fw Forward) error {
	if fw.Datagram {
		return f.serveDatagram(ctx, fw)
	}
	ln, err := net.FileListener(fw.Listener)
	if err != nil {
		return fmt.Errorf("forward to port %d: %w", fw.Port, err)
	}
	defer ln.Close()
	// Do not accept before the application listens: what arrives
	// meanwhile waits in the backlog, where systemd's copy of the socket
	// keeps it even if this process dies.
	if err := f.waitReady(ctx, fw.Port); err != nil {
		return err
	}
	if err := f.ready(); err != nil {
		return err
	}
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		client, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept on the forwarded socket of port %d: %w", fw.Port, err)
		}
		f.track(+1)
		go f.relay(client, fw.Port)
	}
}

// waitReady polls the application's port until it accepts a connection.
func (f *Forwarder) waitReady(ctx context.Context, port int) error {
	deadline := time.Now().Add(f.opts.ReadyTimeout)
	backoff := time.Millisecond
	for {
		c, err := f.dialer.dial(ctx, "tcp", port)
		if err == nil {
			c.Close()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: nothing accepted connections on port %d in the container within %s (last error: %v)", ErrNeverListened, port, f.opts.ReadyTimeout, err)
		}
		time.Sleep(backoff)
		if backoff < 50*time.Millisecond {
			backoff *= 2
		}
	}
}

// relay copies both ways between a client and the application, closing
// each direction as its source ends (half-close), so protocols that shut
// down writing first still get their answer.
func (f *Forwarder) relay(client net.Conn, port int) {
	defer f.track(-1)
	defer client.Close()
	if f.opts.LogConnections {
		f.opts.Log(fmt.Sprintf("connection from %s to port %d", client.RemoteAddr(), port))
	}
	server, err := f.dialer.connect(port)
	if err != nil {
		f.opts.Log(fmt.Sprintf("connection from %s: port %d in the container: %v", client.RemoteAddr(), port, err))
		return
	}
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { pipe(server, client); done <- struct{}{} }()
	pipe(client, server)
	<-done
}

// pipe copies src to dst and then shuts dst for writing. io.Copy between
// TCP (and unix) sockets uses splice(2): the data never enters user space.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = dst.Close()
	}
}

// pidExited returns a channel closed when process pid exits, through a
// pidfd so a reused pid cannot be mistaken for it.
func pidExited(pid int) (<-chan struct{}, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("watch container init %d: %w", pid, err)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err == nil || !errors.Is(err, unix.EINTR) {
				return
			}
		}
	}()
	return ch, nil
}

// nsDialer opens connections from inside the container's network
// namespace. A socket belongs to the namespace of the thread that created
// it, so a few goroutines locked to threads that joined the namespace do
// the dialing; once made, the connections are used from any thread.
type nsDialer struct {
	requests chan dialRequest
	// sockets holds TCP sockets made ahead in the container's namespace,
	// so a connection takes one at once instead of waiting for a worker
	// thread.
	sockets chan int
	stop    chan struct{}
}

type dialRequest struct {
	ctx     context.Context
	network string
	port    int
	reply   chan dialResult
}

type dialResult struct {
	conn net.Conn
	err  error
}

func newNSDialer(pid int, given *os.File, workers int) (*nsDialer, error) {
	ns := given
	if ns == nil {
		var err error
		if ns, err = os.Open(fmt.Sprintf("/proc/%d/ns/net", pid)); err != nil {
			return nil, fmt.Errorf("open the container's network namespace: %w", err)
		}
		defer ns.Close()
	}
	d := &nsDialer{requests: make(chan dialRequest), sockets: make(chan int, 32), stop: make(chan struct{})}
	started := make(chan error, workers+1)
	for i := 0; i < workers; i++ {
		go d.worker(int(ns.Fd()), started)
	}
	go d.maker(int(ns.Fd()), started)
	for i := 0; i < workers+1; i++ {
		if err := <-started; err != nil {
			close(d.stop)
			return nil, err
		}
	}
	return d, nil
}

func (d *nsDialer) worker(ns int, started chan<- error) {
	// The thread never leaves the namespace; when this goroutine
	// returns while locked, Go ends the thread instead of reusing it.
	runtime.LockOSThread()
	if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
		started <- fmt.Errorf("join the container's network namespace: %w", err)
		return
	}
	started <- nil
	var dialer net.Dialer
	for {
		select {
		case <-d.stop:
			return
		case req := <-d.requests:
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(req.port))
			ctx, cancel := context.WithTimeout(req.ctx, 10*time.Second)
			c, err := dialer.DialContext(ctx, req.network, addr)
			cancel()
			req.reply <- dialResult{c, err}
		}
	}
}

// maker keeps d.sockets full of TCP sockets of the container's namespace.
func (d *nsDialer) maker(ns int, started chan<- error) {
	runtime.LockOSThread() // as worker: never back to the host's namespace
	if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
		started <- fmt.Errorf("join the container's network namespace: %w", err)
		return
	}
	started <- nil
	for {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return // connect then falls back to the workers
		}
		select {
		case d.sockets <- fd:
		case <-d.stop:
			unix.Close(fd)
			return
		}
	}
}

// connect opens a TCP connection to port on the container's loopback,
// from a socket made ahead when there is one.
func (d *nsDialer) connect(port int) (net.Conn, error) {
	var fd int
	select {
	case fd = <-d.sockets:
	default:
		return d.dial(context.Background(), "tcp", port)
	}
	err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
	if errors.Is(err, unix.EINPROGRESS) {
		err = awaitConnect(fd)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect to 127.0.0.1:%d: %w", port, err)
	}
	f := os.NewFile(uintptr(fd), "forwarded")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	// As net.Dial does: small writes of a request/response protocol
	// must not wait for Nagle's algorithm.
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return c, nil
}

// awaitConnect waits for a non-blocking connect to finish.
func awaitConnect(fd int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		n, err := unix.Poll(fds, 10000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return unix.ETIMEDOUT
		}
		soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soErr != 0 {
			return unix.Errno(soErr)
		}
		return nil
	}
}

func (d *nsDialer) dial(ctx context.Context, network string, port int) (net.Conn, error) {
	reply := make(chan dialResult, 1)
	select {
	case d.requests <- dialRequest{ctx, network, port, reply}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r := <-reply
	return r.conn, r.err
}

func (d *nsDialer) close() {
	close(d.stop)
	for {
		select {
		case fd := <-d.sockets:
			unix.Close(fd)
		default:
			return
		}
	}
}
