package forward

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// The relay against systemd-socket-proxyd, both on this host's loopback
// (no container, no systemd unit): what each costs a bulk download and a
// new connection, with nothing else in the way.

const benchChunk = 256 << 10

// bulkApplication sends whatever byte count a client asks for (a decimal
// line), in 256 KiB writes as the hello server does.
func bulkApplication(b *testing.B) int {
	return application(b, func(c net.Conn) {
		var n int64
		if _, err := fmt.Fscanln(c, &n); err != nil {
			return
		}
		chunk := make([]byte, benchChunk)
		for n > 0 {
			m := min(n, benchChunk)
			if _, err := c.Write(chunk[:m]); err != nil {
				return
			}
			n -= m
		}
	})
}

func download(b *testing.B, dial func() (net.Conn, error), size int64) {
	c, err := dial()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%d\n", size)
	got, err := io.Copy(io.Discard, c)
	if err != nil || got != size {
		b.Fatalf("downloaded %d of %d: %v", got, size, err)
	}
}

func benchmarkForwarders(b *testing.B, run func(b *testing.B, dial func() (net.Conn, error))) {
	port := bulkApplication(b)
	b.Run("direct", func(b *testing.B) {
		run(b, func() (net.Conn, error) { return net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)) })
	})
	b.Run("relay", func(b *testing.B) {
		run(b, startTestRelay(b, "tcp", port, 1).client)
	})
	b.Run("systemd-socket-proxyd", func(b *testing.B) {
		run(b, proxyd(b, port))
	})
}

func BenchmarkForwardThroughput(b *testing.B) {
	const size = 64 << 20
	benchmarkForwarders(b, func(b *testing.B, dial func() (net.Conn, error)) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			download(b, dial, size)
		}
	})
}

func BenchmarkForwardNewConnection(b *testing.B) {
	benchmarkForwarders(b, func(b *testing.B, dial func() (net.Conn, error)) {
		for i := 0; i < b.N; i++ {
			download(b, dial, 1)
		}
	})
}

// proxyd runs systemd-socket-proxyd on a socket systemd-socket-activate
// passes it, as a socket unit would.
func proxyd(b *testing.B, port int) func() (net.Conn, error) {
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		b.Skip("no systemd-socket-activate")
	}
	var proxy string
	for _, p := range []string{"/usr/lib/systemd/systemd-socket-proxyd", "/lib/systemd/systemd-socket-proxyd"} {
		if _, err := exec.LookPath(p); err == nil {
			proxy = p
			break
		}
	}
	if proxy == "" {
		b.Skip("no systemd-socket-proxyd")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(activate, "-l", addr, proxy, "127.0.0.1:"+strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("systemd-socket-proxyd on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return func() (net.Conn, error) { return net.Dial("tcp", addr) }
}
