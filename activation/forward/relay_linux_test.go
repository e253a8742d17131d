package forward

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/testenv"
	"golang.org/x/sys/unix"
)

// The relay loops are tested in the test's own network namespace (no
// container, no privileges): a listening socket stands in for the
// activated one, a Go server on the loopback for the application.

// relayFixture is a relay from one listener to one application port.
type relayFixture struct {
	relay  *relay
	client func() (net.Conn, error) // connects to the "activated" socket
	open   atomic.Int64
	mu     sync.Mutex
	logged []string
}

func (fx *relayFixture) log() string {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return strings.Join(fx.logged, "\n")
}

// startTestRelay relays a new listener of network ("tcp" or "unix") to
// port, with loops relay threads.
func startTestRelay(t testing.TB, network string, port, loops int) *relayFixture {
	t.Helper()
	var ln net.Listener
	var err error
	if network == "unix" {
		ln, err = net.Listen("unix", filepath.Join(t.TempDir(), "activated.sock"))
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	file, err := ln.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := dupNonblocking(file)
	file.Close()
	if err != nil {
		t.Fatal(err)
	}
	fx := &relayFixture{client: func() (net.Conn, error) { return net.Dial(network, addr) }}
	fx.relay, err = startRelay(-1, []relayTarget{{listener: fd, to: sockaddr(netip.MustParseAddr("127.0.0.1"), port), port: port}}, loops, relayHooks{
		track: func(delta int) { fx.open.Add(int64(delta)) },
		log: func(s string) {
			fx.mu.Lock()
			fx.logged = append(fx.logged, s)
			fx.mu.Unlock()
		},
		logConnections: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fx.relay.quit()
		unix.Close(fd)
		ln.Close()
	})
	return fx
}

// application serves on the loopback with handle per connection and
// returns its port.
func application(t testing.TB, handle func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// echoThenBye echoes until the client half-closes, then says bye: it
// answers only after the client's end of stream.
func echoThenBye(c net.Conn) {
	_, _ = io.Copy(c, c)
	_, _ = c.Write([]byte("bye"))
}

func TestRelayHalfClose(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			fx := startTestRelay(t, network, application(t, echoThenBye), 1)
			c, err := fx.client()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("hello ")); err != nil {
				t.Fatal(err)
			}
			if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "hello bye" {
				t.Errorf("got %q, want the echo and the answer after the half-close", got)
			}
			waitOpen(t, fx, 0)
			if !strings.Contains(fx.log(), "connection from ") {
				t.Errorf("no client address logged:\n%s", fx.log())
			}
		})
	}
}

func TestRelayLargeTransferBothWays(t *testing.T) {
	const size = 16 << 20
	// The application sends size random bytes and a digest of what it
	// received.
	port := application(t, func(c net.Conn) {
		payload := make([]byte, size)
		_, _ = rand.Read(payload)
		sent := make(chan struct{})
		go func() {
			_, _ = c.Write(payload)
			close(sent)
		}()
		h := sha256.New()
		_, _ = io.Copy(h, c)
		<-sent
		sum := sha256.Sum256(payload)
		_, _ = fmt.Fprintf(c, "%x%x", sum, h.Sum(nil))
	})
	fx := startTestRelay(t, "tcp", port, 2)
	c, err := fx.client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	upload := make([]byte, size)
	_, _ = rand.Read(upload)
	go func() {
		_, _ = c.Write(upload)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != size+128 {
		t.Fatalf("received %d bytes, want %d and two digests", len(got), size)
	}
	sentDigest := sha256.Sum256(got[:size])
	wantUpload := sha256.Sum256(upload)
	tail := string(got[size:])
	if tail[:64] != fmt.Sprintf("%x", sentDigest) {
		t.Error("the download arrived changed")
	}
	if tail[64:] != fmt.Sprintf("%x", wantUpload) {
		t.Error("the upload arrived changed")
	}
}

func TestRelayManySimultaneousConnections(t *testing.T) {
	port := application(t, func(c net.Conn) {
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		_, _ = c.Write(bytes.ToUpper(buf[:n]))
	})
	fx := startTestRelay(t, "tcp", port, 2)
	testenv.AllAtOnce(t, 200, func(i int) error {
		c, err := fx.client()
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		msg := fmt.Sprintf("ping %d", i)
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		got, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		if string(got) != strings.ToUpper(msg) {
			return fmt.Errorf("connection %d: got %q", i, got)
		}
		return nil
	})
	waitOpen(t, fx, 0)
}

func TestRelayRefusedConnectionClosesClient(t *testing.T) {
	// A port nothing listens on: the application died.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	fx := startTestRelay(t, "tcp", port, 1)
	c, err := fx.client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes from a connection to nothing", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(fx.log(), fmt.Sprintf("port %d in the container", port)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(fx.log(), "refused") {
		t.Errorf("the journal does not say the connection was refused:\n%s", fx.log())
	}
}

func TestRelayStopAcceptingKeepsOpenConnections(t *testing.T) {
	port := application(t, echoThenBye)
	fx := startTestRelay(t, "tcp", port, 2)
	open, err := fx.client()
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if _, err := open.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	waitOpen(t, fx, 1)
	fx.relay.stopAccepting()
	// A new connection now waits in the backlog: it is not answered.
	late, err := fx.client()
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	_ = late.(*net.TCPConn).CloseWrite()
	_ = late.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := late.Read(make([]byte, 8)); err == nil || !os.IsTimeout(err) {
		t.Errorf("a connection after stopAccepting was served (%d bytes, %v)", n, err)
	}
	// The open one goes on to its end.
	_ = open.(*net.TCPConn).CloseWrite()
	_ = open.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(open)
	if err != nil || string(got) != "abye" {
		t.Errorf("open connection after stopAccepting: %q, %v", got, err)
	}
}

func waitOpen(t *testing.T, fx *relayFixture, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for fx.open.Load() != want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := fx.open.Load(); got != want {
		t.Fatalf("%d connections open, want %d", got, want)
	}
}
