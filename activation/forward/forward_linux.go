package forward

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Socket is one activated socket whose connections go to a port of the
// container instead of being passed in: for images that bind their own
// port and know nothing of socket activation.
type Socket struct {
	// Listener is the listening socket systemd passed.
	Listener *os.File
	// Datagram is set for a datagram socket (ListenDatagram=).
	Datagram bool
	// Port is the container's port, on Options.Addr.
	Port int
}

// Options configure Run.
type Options struct {
	// Init is the host pid of the container's init: the forwarder ends
	// when it exits.
	Init int
	// NetNS is the container's network namespace, where connections
	// go (Container.NetNS); nil means /proc/Init/ns/net.
	NetNS *os.File
	// Joined says the whole process is in the container's network
	// namespace already (the confined forwarder process joined it before
	// its first thread): no thread joins it, and NetNS is not used.
	Joined bool
	// Addr is the container's address the connections go to: its
	// address on its network, which reaches an application bound to
	// that address as well as one bound to any. A stream port that
	// refuses connections there but accepts them on 127.0.0.1 (an image
	// that binds loopback only, as it did when containers had nothing
	// else) is relayed to 127.0.0.1, decided once, when it first
	// listens. The zero Addr is 127.0.0.1, for a container with loopback
	// only.
	Addr netip.Addr
	// Sockets are the sockets to serve.
	Sockets []Socket
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

// forwarder relays connections from activated sockets into a container.
type forwarder struct {
	opts   Options
	dialer *nsDialer

	mu         sync.Mutex
	open       int       // connections being relayed
	lastActive time.Time // when open last dropped to zero
	pending    int       // forwards whose port is not known to listen yet
	readyErr   error     // what Ready returned
	accepting  chan struct{}
	// stopped is closed when Run returns; streams tells it when
	// the relays are gone.
	stopped chan struct{}
	streams sync.WaitGroup
}

// ready records that n forwards' ports listen. When the last one does, it
// calls Ready and lets every forward accept; the others wait here.
func (f *forwarder) ready(n int) error {
	f.mu.Lock()
	f.pending -= n
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

// Run serves the sockets until the container's init exits, the
// application never listens, or ctx ends. It returns nil when the init
// exited.
func Run(ctx context.Context, opts Options) error {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	if opts.Log == nil {
		opts.Log = func(string) {}
	}
	if !opts.Addr.IsValid() {
		opts.Addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	initExited, err := pidExited(opts.Init)
	if err != nil {
		return err
	}
	dialer, err := newNSDialer(opts.Init, opts.NetNS, opts.Joined, 2)
	if err != nil {
		return err
	}
	defer dialer.close()
	f := &forwarder{opts: opts, dialer: dialer, lastActive: time.Now(), stopped: make(chan struct{})}
	defer func() {
		close(f.stopped)
		f.streams.Wait()
	}()
	f.pending = len(opts.Sockets)
	f.accepting = make(chan struct{})
	// Accepting stops when the container is idle; the forwarder itself
	// stays until the container's init is gone.
	accepting, stopAccepting := context.WithCancel(ctx)
	defer stopAccepting()
	errs := make(chan error, len(opts.Sockets))
	var streams []Socket
	for _, fw := range opts.Sockets {
		if fw.Datagram {
			go func(fw Socket) { errs <- f.serveDatagram(accepting, fw) }(fw)
		} else {
			streams = append(streams, fw)
		}
	}
	if len(streams) > 0 {
		f.streams.Add(1)
		go func() {
			defer f.streams.Done()
			errs <- f.serveStreams(accepting, streams)
		}()
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
func (f *forwarder) refusePending() {
	for _, fw := range f.opts.Sockets {
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

func (f *forwarder) idleTicker() <-chan time.Time {
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
func (f *forwarder) idleFor() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open > 0 {
		return 0
	}
	return time.Since(f.lastActive)
}

func (f *forwarder) track(delta int) {
	f.mu.Lock()
	f.open += delta
	if f.open == 0 {
		f.lastActive = time.Now()
	}
	f.mu.Unlock()
}

// serveStreams relays the stream sockets once the application listens on
// every port, until ctx ends; connections open then go on until the
// forwarder returns.
func (f *forwarder) serveStreams(ctx context.Context, streams []Socket) error {
	var targets []relayTarget
	defer func() {
		for _, t := range targets {
			unix.Close(t.listener)
		}
	}()
	for _, fw := range streams {
		fd, err := dupNonblocking(fw.Listener)
		if err != nil {
			return fmt.Errorf("forward to port %d: %w", fw.Port, err)
		}
		targets = append(targets, relayTarget{listener: fd, port: fw.Port})
	}
	// Do not accept before the application listens: what arrives
	// meanwhile waits in the backlog, where systemd's copy of the socket
	// keeps it even if this process dies.
	for i, fw := range streams {
		addr, err := f.waitReady(ctx, fw.Port)
		if err != nil {
			return err
		}
		targets[i].to = sockaddr(addr, fw.Port)
	}
	if err := f.ready(len(streams)); err != nil {
		return err
	}
	r, err := startRelay(f.dialer.netns, targets, relayLoops(), relayHooks{
		track: f.track, log: f.opts.Log, logConnections: f.opts.LogConnections,
	})
	if err != nil {
		return err
	}
	// The loops end with the forwarder (Run's stop), the
	// listeners only after them.
	defer r.quit()
	select {
	case <-ctx.Done():
		r.stopAccepting()
		<-f.stopped
	case <-f.stopped:
	}
	return nil
}

// relayLoops is how many relay threads share the connections: one per CPU
// the process may use, at most 4.
func relayLoops() int {
	n := min(runtime.NumCPU(), 4)
	// A loop may wait holding its processor while it relays; one more
	// processor keeps the rest of the forwarder running meanwhile.
	if runtime.GOMAXPROCS(0) < n+1 {
		runtime.GOMAXPROCS(n + 1)
	}
	return n
}

// dupNonblocking returns a non-blocking duplicate of a listening socket.
// The O_NONBLOCK flag is shared with systemd's copy, which only polls it.
func dupNonblocking(f *os.File) (int, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	dup := -1
	var dupErr error
	if err := raw.Control(func(fd uintptr) {
		dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, fmt.Errorf("duplicate the activated socket: %w", dupErr)
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return -1, err
	}
	return dup, nil
}

// waitReady polls the application's port until it accepts a connection,
// at the container's address or else at 127.0.0.1, and returns the
// address that accepted.
func (f *forwarder) waitReady(ctx context.Context, port int) (netip.Addr, error) {
	started := time.Now()
	deadline := started.Add(f.opts.ReadyTimeout)
	candidates := []netip.Addr{f.opts.Addr}
	if loopback := netip.AddrFrom4([4]byte{127, 0, 0, 1}); f.opts.Addr != loopback {
		candidates = append(candidates, loopback)
	}
	for {
		var err error
		for _, addr := range candidates {
			var c net.Conn
			if c, err = f.dialer.dial(ctx, "tcp", netip.AddrPortFrom(addr, uint16(port))); err == nil {
				c.Close()
				return addr, nil
			}
		}
		if ctx.Err() != nil {
			return netip.Addr{}, ctx.Err()
		}
		if time.Now().After(deadline) {
			return netip.Addr{}, fmt.Errorf("%w: nothing accepted connections on port %d in the container within %s (last error: %v)", ErrNeverListened, port, f.opts.ReadyTimeout, err)
		}
		time.Sleep(readyPollInterval(time.Since(started)))
	}
}

// readyPollInterval is how long waitReady rests between two rounds of
// dials, elapsed after it began. The client of a cold start waits for
// the round that finds the application listening, so the rest is short
// while an application's start usually ends (a refused dial costs tens of
// microseconds, a rest of 0.5 ms makes at most 200 of them in the first
// 100 ms); after that, a quarter of the time waited so far, so that a slow
// start (a database's first initialisation) is found at most a quarter
// late, with a round at least every 50 ms. An exponential backoff from
// 1 ms had found a server that listened after 4 ms only at 7 ms.
func readyPollInterval(elapsed time.Duration) time.Duration {
	const (
		fast       = 500 * time.Microsecond
		fastPeriod = 100 * time.Millisecond
		slowest    = 50 * time.Millisecond
	)
	if elapsed < fastPeriod {
		return fast
	}
	return min(elapsed/4, slowest)
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
// namespace for the readiness probes and the datagram associations. A
// socket belongs to the namespace of the thread that created it, so a few
// goroutines locked to threads that joined the namespace do the dialing;
// once made, the connections are used from any thread.
type nsDialer struct {
	requests chan dialRequest
	stop     chan struct{}
	// netns is the namespace, kept for the relay loops to join; -1 when
	// the process is in it already.
	netns int
}

type dialRequest struct {
	ctx     context.Context
	network string
	to      netip.AddrPort
	reply   chan dialResult
}

type dialResult struct {
	conn net.Conn
	err  error
}

func newNSDialer(pid int, given *os.File, joined bool, workers int) (*nsDialer, error) {
	netns := -1
	var err error
	switch {
	case joined:
	case given != nil:
		netns, err = unix.FcntlInt(given.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	default:
		netns, err = unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open the container's network namespace: %w", err)
	}
	d := &nsDialer{requests: make(chan dialRequest), stop: make(chan struct{}), netns: netns}
	started := make(chan error, workers)
	for i := 0; i < workers; i++ {
		go d.worker(netns, started)
	}
	for i := 0; i < workers; i++ {
		if err := <-started; err != nil {
			d.close()
			return nil, err
		}
	}
	return d, nil
}

func (d *nsDialer) worker(ns int, started chan<- error) {
	// The thread never leaves the namespace; when this goroutine
	// returns while locked, Go ends the thread instead of reusing it.
	runtime.LockOSThread()
	if ns >= 0 {
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			started <- fmt.Errorf("join the container's network namespace: %w", err)
			return
		}
	}
	started <- nil
	var dialer net.Dialer
	for {
		select {
		case <-d.stop:
			return
		case req := <-d.requests:
			ctx, cancel := context.WithTimeout(req.ctx, 10*time.Second)
			c, err := dialer.DialContext(ctx, req.network, req.to.String())
			cancel()
			req.reply <- dialResult{c, err}
		}
	}
}

func (d *nsDialer) dial(ctx context.Context, network string, to netip.AddrPort) (net.Conn, error) {
	reply := make(chan dialResult, 1)
	select {
	case d.requests <- dialRequest{ctx, network, to, reply}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r := <-reply
	return r.conn, r.err
}

// sockaddr is addr and port as connect takes them.
func sockaddr(addr netip.Addr, port int) unix.Sockaddr {
	if addr.Is4() {
		return &unix.SockaddrInet4{Addr: addr.As4(), Port: port}
	}
	return &unix.SockaddrInet6{Addr: addr.As16(), Port: port}
}

func (d *nsDialer) close() {
	close(d.stop)
	if d.netns >= 0 {
		unix.Close(d.netns)
	}
}
