package forward

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/tests/testenv"
)

// appContainer stands in for a container: a network namespace of its own
// with only loopback, where an HTTP server starts listening on port 8080
// after delay and serves a one-line page, and a child process as the
// container's init, whose end ends the forwarder. It returns the init's
// pid and the namespace.
func appContainer(t *testing.T, delay time.Duration) (int, *os.File) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "sleep")
	netns := make(chan *os.File, 1)
	failed := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		// Never unlocked: the thread ends with this goroutine instead
		// of going back to Go's pool inside the namespace.
		runtime.LockOSThread()
		ns, err := privateLoopback()
		if err != nil {
			failed <- err
			return
		}
		netns <- ns
		select {
		case <-time.After(delay):
		case <-stop:
			return
		}
		// The listening socket is created in this thread's namespace;
		// the server's goroutines may run anywhere.
		ln, err := net.Listen("tcp", "127.0.0.1:8080")
		if err != nil {
			return
		}
		go func() { <-stop; ln.Close() }()
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "forwarded\n")
		})}
		// One request per connection, as busybox httpd serves: the
		// forwarder must see the connections end to go idle.
		srv.SetKeepAlivesEnabled(false)
		_ = srv.Serve(ln)
	}()
	var ns *os.File
	select {
	case ns = <-netns:
	case err := <-failed:
		t.Fatal(err)
	}
	init := exec.Command("sleep", "1000")
	if err := init.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = init.Process.Kill()
		_ = init.Wait()
		close(stop)
		ns.Close()
	})
	return init.Process.Pid, ns
}

// privateLoopback moves the calling (locked) thread into a new network
// namespace, brings up its lo and returns the namespace.
func privateLoopback() (*os.File, error) {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("new network namespace: %w", err)
	}
	if err := exec.Command("ip", "link", "set", "lo", "up").Run(); err != nil {
		return nil, fmt.Errorf("bring up lo: %w", err)
	}
	return os.Open("/proc/thread-self/ns/net")
}

// hostListener is an activated socket stand-in: a listening socket on the
// host's loopback, as a file.
func hostListener(t *testing.T) (*os.File, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Cleanup(func() { f.Close() })
	return f, addr
}

func TestForwarderRelaysIntoContainer(t *testing.T) {
	// The application listens only after a while: connections made
	// before then must wait, not fail.
	init, netns := appContainer(t, 300*time.Millisecond)
	listener, addr := hostListener(t)
	var idle atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			Init: init, NetNS: netns, Sockets: []Socket{{Listener: listener, Port: 8080}},
			ReadyTimeout: 10 * time.Second, IdleTimeout: 500 * time.Millisecond,
			OnIdle: func() { idle.Store(true) },
		})
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < 3; i++ {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("GET through the forwarder: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "forwarded") {
			t.Fatalf("answer %q", body)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !idle.Load() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !idle.Load() {
		t.Error("idle timeout never fired")
	}
	// The forwarder ends with the container.
	_ = unix.Kill(init, unix.SIGKILL)
	select {
	case err := <-done:
		if err != nil && err != context.Canceled {
			t.Errorf("forwarder: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("forwarder still running after the container died")
	}
}

func TestForwarderGivesUpOnSilentApp(t *testing.T) {
	init, netns := appContainer(t, time.Hour)
	listener, _ := hostListener(t)
	err := Run(context.Background(), Options{
		Init: init, NetNS: netns, Sockets: []Socket{{Listener: listener, Port: 8080}}, ReadyTimeout: 300 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "port 8080") {
		t.Fatalf("an app that never listens: %v, want ErrNeverListened naming the port", err)
	}
}
