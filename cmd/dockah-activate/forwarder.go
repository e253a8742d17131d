package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/activation/confine"
	"github.com/dockah/dockah/activation/forward"
	"github.com/dockah/dockah/cmd/internal/launch"
	"golang.org/x/sys/unix"
)

// The forwarder of a container whose image binds its own port is a
// process of its own (confine.StartForwarder): in the container's network
// namespace, with an empty root, no capabilities and a tight seccomp
// filter, it is the only process of dockah that handles connections. The
// shim stays as its parent for what needs privileges: telling systemd the
// container is ready, the audit record, stopping the unit when idle. They
// talk over a control socket, one message per write:
//
//	shim → forwarder   the forwarderConfig, as JSON
//	forwarder → shim   "ready": the application listens; the shim answers
//	                   "ok", or "error: WHY" and the forwarder gives up
//	forwarder → shim   "idle": no connection for the idle timeout
//	forwarder → shim   "end": the container's init exited;
//	                   "fail: WHY": the forwarder gave up

// forwarderConfig is what the forwarder needs besides its sockets.
type forwarderConfig struct {
	Name           string
	Init           int        // the container's init, whose end ends the forwarder
	Addr           netip.Addr // the container's, on its first network: forward.Options.Addr
	Ports          []int
	Datagram       []bool
	ReadyTimeout   time.Duration
	IdleTimeout    time.Duration
	LogConnections bool
}

// serveForwards starts the forwarder for the forwarded sockets and serves
// its requests until it ends. systemd learns the container's pid and
// readiness only once the application listens on its ports, so
// "systemctl start" means "serving"; an application that never listens
// fails the start instead of hanging it. addr is the container's address
// on its network, the zero address for loopback.
func serveForwards(name string, prep *launch.Prepared, c *activation.Container, early *earlyForwarder, forwards []forward.Socket, addr netip.Addr, state string) error {
	def := prep.Definition
	cfg := forwarderConfig{
		Name: name, Init: c.Pid, Addr: addr, ReadyTimeout: readyTimeout(def.Service.StartTimeout),
		IdleTimeout: def.Service.IdleTimeout,
		// Environment=DOCKAH_LOG_CONNECTIONS=1 in a drop-in of the unit.
		LogConnections: os.Getenv("DOCKAH_LOG_CONNECTIONS") == "1",
	}
	files := make([]*os.File, 0, len(forwards))
	for _, fw := range forwards {
		cfg.Ports = append(cfg.Ports, fw.Port)
		cfg.Datagram = append(cfg.Datagram, fw.Datagram)
		files = append(files, fw.Listener)
	}
	defer early.finish()
	fp, err := early.take()
	if fp == nil && err == nil {
		// The setup stage built the container: no early start.
		fp, err = startForwarder(c, files, cfg.Name)
	}
	if err == nil {
		err = configureForwarder(fp, cfg)
	}
	if err != nil {
		c.Kill()
		return err
	}
	defer fp.Control.Close()
	notified := false
	ready := func() error {
		err := activation.Notify(state, 10*time.Second)
		if errors.Is(err, activation.ErrNoNotifySocket) {
			return nil // by hand: nobody to tell
		}
		if err != nil {
			return err
		}
		if def.Container.Notify {
			// Listening is not ready yet for such an application
			// (postgres refuses sessions while it starts): accept
			// only once it has told systemd READY=1.
			if err := waitActive(def.ServiceUnit(), cfg.ReadyTimeout); err != nil {
				return err
			}
		}
		notified = true
		auditStarted(name, prep, c.Pid)
		return nil
	}
	err = serveForwarder(fp, ready, func() { stopUnit(name, def.ServiceUnit()) })
	if err != nil {
		// The start fails: the container goes, the socket stays.
		c.Kill()
		return err
	}
	if !notified {
		return errors.New("the container ended before its application listened")
	}
	return nil
}

// startForwarder starts the forwarder in the network namespace of the
// container c, once the container runs.
func startForwarder(c *activation.Container, files []*os.File, name string) (*confine.ForwarderProcess, error) {
	netns := c.NetNS
	if netns == nil {
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", c.Pid))
		if err != nil {
			return nil, fmt.Errorf("open the container's network namespace: %w", err)
		}
		defer f.Close()
		netns = f
	}
	return startForwarderIn(netns, files, name)
}

// startForwarderIn starts the forwarder in the network namespace netns.
func startForwarderIn(netns *os.File, files []*os.File, name string) (*confine.ForwarderProcess, error) {
	var env []string
	for _, k := range []string{"JOURNAL_STREAM", "DOCKAH_TRACE"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	fp, err := confine.StartForwarder(netns, files, os.Stderr, name, env)
	if err != nil {
		return nil, err
	}
	activation.Trace("shim: forwarder started")
	return fp, nil
}

// configureForwarder sends the forwarder its configuration, or ends it.
func configureForwarder(fp *confine.ForwarderProcess, cfg forwarderConfig) error {
	msg, err := json.Marshal(cfg)
	if err == nil {
		_, err = fp.Control.Write(msg)
	}
	if err != nil {
		fp.Control.Close()
		_ = fp.Cmd.Process.Kill()
		_ = fp.Cmd.Wait()
		return fmt.Errorf("configure the forwarder: %w", err)
	}
	return nil
}

// earlyForwarder is a forwarder started as soon as the container's network
// namespace exists (activation.StartOptions.NetNSCreated), while the
// container is still being built: the forwarder's own start (an exec of
// this binary, its Go runtime and its confinement, about 4 to 6 ms) then
// overlaps the container's instead of following it on every cold
// connection. It waits for its configuration, which needs the container's
// pid, until serveForwards sends it.
type earlyForwarder struct {
	name  string
	files []*os.File
	once  sync.Once
	done  chan struct{} // closed once the start has been tried
	fp    *confine.ForwarderProcess
	err   error
	// release ends the thread the forwarder was started from, which
	// must live as long as the forwarder: its end would send the
	// forwarder its parent-death signal.
	release     chan struct{}
	releaseOnce sync.Once
}

func newEarlyForwarder(name string, forwards []forward.Socket) *earlyForwarder {
	e := &earlyForwarder{name: name, done: make(chan struct{}), release: make(chan struct{})}
	for _, fw := range forwards {
		e.files = append(e.files, fw.Listener)
	}
	return e
}

// start is activation.StartOptions.NetNSCreated: on the building thread,
// it only duplicates the namespace's descriptor and hands it over.
func (e *earlyForwarder) start(netns *os.File) {
	e.once.Do(func() {
		fd, err := unix.FcntlInt(netns.Fd(), unix.F_DUPFD_CLOEXEC, 3)
		go func() {
			// A thread of its own, never unlocked, kept until the
			// forwarder is done with (release).
			runtime.LockOSThread()
			if err != nil {
				e.err = fmt.Errorf("start the forwarder: %w", err)
				close(e.done)
				return
			}
			f := os.NewFile(uintptr(fd), "netns")
			e.fp, e.err = startForwarderIn(f, e.files, e.name)
			f.Close()
			close(e.done)
			<-e.release
		}()
	})
}

// take returns the forwarder started early, or nil and no error if none
// was (the setup stage built the container); after it, start does
// nothing.
func (e *earlyForwarder) take() (*confine.ForwarderProcess, error) {
	if e == nil {
		return nil, nil
	}
	e.once.Do(func() { close(e.done) })
	<-e.done
	return e.fp, e.err
}

// abandon ends a forwarder started early for a container that did not
// start.
func (e *earlyForwarder) abandon() {
	if e == nil {
		return
	}
	if fp, _ := e.take(); fp != nil {
		fp.Control.Close()
		_ = fp.Cmd.Process.Kill()
		_ = fp.Cmd.Wait()
	}
	e.finish()
}

// finish lets the forwarder's parent thread end, once the forwarder has.
func (e *earlyForwarder) finish() {
	if e != nil {
		e.releaseOnce.Do(func() { close(e.release) })
	}
}

// serveForwarder answers the forwarder's requests until it ends, and
// returns why it gave up, if it did.
func serveForwarder(fp *confine.ForwarderProcess, ready func() error, idle func()) error {
	var result error
	ended := false
	buf := make([]byte, 64<<10)
	for {
		n, err := fp.Control.Read(buf)
		if err != nil || n == 0 {
			break // the forwarder is gone
		}
		msg := string(buf[:n])
		switch {
		case msg == "ready":
			reply := "ok"
			if err := ready(); err != nil {
				reply = "error: " + err.Error()
			}
			if _, err := fp.Control.Write([]byte(reply)); err != nil {
				result = fmt.Errorf("answer the forwarder: %w", err)
			}
		case msg == "idle":
			idle()
		case msg == "end":
			ended = true
		case strings.HasPrefix(msg, "fail: "):
			result, ended = errors.New(strings.TrimPrefix(msg, "fail: ")), true
		}
	}
	err := fp.Cmd.Wait()
	if !ended && result == nil {
		result = fmt.Errorf("the forwarder ended without a word: %v", err)
	}
	return result
}

// runForwarder is the forwarder process: it finishes its confinement,
// reads its configuration and relays until the container's init exits.
// It only returns through exit.
func runForwarder() {
	activation.Trace("forwarder: running")
	control, files, err := confine.Forwarder()
	if err != nil {
		forwarderExit(control, "", err)
	}
	buf := make([]byte, 64<<10)
	n, err := control.Read(buf)
	if err != nil {
		forwarderExit(control, "", fmt.Errorf("read the configuration: %w", err))
	}
	var cfg forwarderConfig
	if err := json.Unmarshal(buf[:n], &cfg); err != nil || len(cfg.Ports) != len(files) || len(cfg.Datagram) != len(files) {
		forwarderExit(control, "", fmt.Errorf("bad configuration (%d sockets): %v", len(files), err))
	}
	activation.Trace("forwarder: confined")
	replies := make(chan string, 1)
	go func() {
		defer close(replies)
		for {
			n, err := control.Read(buf)
			if err != nil || n == 0 {
				return // the shim is gone; its death signal ends this process
			}
			replies <- string(buf[:n])
		}
	}()
	sockets := make([]forward.Socket, len(files))
	for i, f := range files {
		sockets[i] = forward.Socket{Listener: f, Port: cfg.Ports[i], Datagram: cfg.Datagram[i]}
	}
	err = forward.Run(context.Background(), forward.Options{
		Init: cfg.Init, Addr: cfg.Addr, Joined: true, Sockets: sockets,
		ReadyTimeout: cfg.ReadyTimeout, IdleTimeout: cfg.IdleTimeout,
		Ready: func() error {
			activation.Trace("forwarder: application listens")
			if _, err := control.Write([]byte("ready")); err != nil {
				return err
			}
			reply, ok := <-replies
			if !ok {
				return errors.New("the shim did not answer")
			}
			if reply != "ok" {
				return errors.New(strings.TrimPrefix(reply, "error: "))
			}
			return nil
		},
		OnIdle:         func() { _, _ = control.Write([]byte("idle")) },
		Log:            func(msg string) { logLine(cfg.Name, msg) },
		LogConnections: cfg.LogConnections,
	})
	forwarderExit(control, cfg.Name, err)
}

// forwarderExit tells the shim how the forwarder ended, which the shim
// reports, and exits.
func forwarderExit(control *os.File, name string, err error) {
	if err == nil {
		_, _ = control.Write([]byte("end"))
		os.Exit(0)
	}
	if control == nil {
		control = os.NewFile(confine.ForwarderControlFd, "control")
	}
	if _, werr := control.Write([]byte("fail: " + err.Error())); werr != nil {
		if name == "" {
			name = "forwarder"
		}
		logLine(name, err.Error())
	}
	os.Exit(1)
}
