package activation

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// httpdContainer starts busybox httpd on port 8080 inside a container
// with only loopback, serving a one-line index.html.
func httpdContainer(t *testing.T, delay string) *Container {
	t.Helper()
	cfg := testConfig(t, "/bin/sh", "-c", "sleep "+delay+"; exec /bin/httpd -f -p 127.0.0.1:8080 -h /www")
	www := filepath.Join(cfg.Root.Lower[1], "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("forwarded\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("busybox", filepath.Join(cfg.Root.Lower[1], "bin/httpd")); err != nil {
		t.Fatal(err)
	}
	c, err := Start(cfg, StartOptions{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.Kill(c.Pid, unix.SIGKILL)
		_, _ = c.Wait()
	})
	return c
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
	c := httpdContainer(t, "0.3")
	listener, addr := hostListener(t)
	var idle atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- RunForwarder(ctx, ForwardOptions{
			Init: c.Pid, Forwards: []Forward{{Listener: listener, Port: 8080}},
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
	_ = unix.Kill(c.Pid, unix.SIGKILL)
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
	c := httpdContainer(t, "1000")
	listener, _ := hostListener(t)
	err := RunForwarder(context.Background(), ForwardOptions{
		Init: c.Pid, Forwards: []Forward{{Listener: listener, Port: 8080}}, ReadyTimeout: 300 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "port 8080") {
		t.Fatalf("an app that never listens: %v, want ErrNeverListened naming the port", err)
	}
}
