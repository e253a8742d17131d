package network

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) {
	box.SharedOptions.PrivateNetwork = true
	os.Exit(box.Main(m))
}

// The outside world: 192.0.2.0/24 (TEST-NET-1) and 2001:db8::/64 (the
// documentation prefix) between it and the box.
const (
	outsideAddr  = "192.0.2.1"
	boxAddr      = "192.0.2.2"
	outsideAddr6 = "2001:db8::1"
	boxAddr6     = "2001:db8::2"
	outsideName  = "outside.test"
)

var (
	setupOnce sync.Once
	outside   *box.Outside
)

// netBox returns the package's box, with the outside world, the test
// image and the networks app, other and closed (internal) defined.
func netBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() {
		var err error
		if outside, err = b.NewOutside(outsideAddr+"/24", boxAddr+"/24", outsideAddr); err != nil {
			t.Fatal(err)
		}
		// IPv6 beside IPv4, without duplicate address detection (it
		// would hold the addresses tentative for a second or two).
		if _, err := outside.Run("ip", "-6", "addr", "add", outsideAddr6+"/64", "dev", "outside0", "nodad"); err != nil {
			t.Fatal(err)
		}
		for _, s := range [][]string{
			{"ip", "-6", "addr", "add", boxAddr6 + "/64", "dev", "uplink0", "nodad"},
			{"ip", "-6", "route", "add", "default", "via", outsideAddr6},
		} {
			if _, err := b.Run(s...); err != nil {
				t.Fatal(err)
			}
		}
		serveOutside(t, outside.NS())
		if err := b.WriteFile("/etc/resolv.conf", []byte("nameserver "+outsideAddr+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		hello := images.Build(t, "./contrib/hello", b.Path("/opt/dockah-net"))
		entries := append(images.Busybox(t, "sh", "wget", "nslookup", "ip", "sleep", "cat", "echo", "timeout"), images.Entry{Name: "hello", Source: hello})
		images.Import(t, b, "net:test", entries)
		for name, def := range map[string]string{
			"other":  "[network]\nsubnet = \"10.91.0.0/24\"\n",
			"closed": "[network]\ninternal = true\n",
		} {
			if err := b.WriteFile("/etc/dockah/networks/"+name+".toml", []byte(def), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// define writes container definitions and reloads systemd.
func define(t *testing.T, b *box.Box, defs map[string]string) {
	t.Helper()
	for name, def := range defs {
		if err := b.WriteFile("/etc/dockah/containers/"+name+".toml", []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
}

// serveOutside runs, in the outside namespace, an HTTP server on
// outsideAddr:8081 that answers with the address it sees the client
// at, and a resolver on outsideAddr:53 that knows outsideName.
func serveOutside(t *testing.T, ns int) {
	type socks struct {
		l, l6 net.Listener
		pc    net.PacketConn
		err   error
	}
	done := make(chan socks)
	go func() {
		// Never unlocked: the thread ends with the goroutine, in the
		// outside namespace.
		runtime.LockOSThread()
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			done <- socks{err: err}
			return
		}
		l, err := net.Listen("tcp", outsideAddr+":8081")
		if err != nil {
			done <- socks{err: err}
			return
		}
		l6, err := net.Listen("tcp", "["+outsideAddr6+"]:8081")
		if err != nil {
			done <- socks{err: err}
			return
		}
		pc, err := net.ListenPacket("udp", outsideAddr+":53")
		done <- socks{l, l6, pc, err}
	}()
	s := <-done
	if s.err != nil {
		t.Fatalf("serve in the outside namespace: %v", s.err)
	}
	whoSees := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "outside sees %s\n", r.RemoteAddr)
	})
	go http.Serve(s.l, whoSees)
	go http.Serve(s.l6, whoSees)
	go answerDNS(s.pc)
}

func answerDNS(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionAvailable: true})
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if strings.TrimSuffix(q.Name.String(), ".") == outsideName && q.Type == dnsmessage.TypeA {
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 5},
				dnsmessage.AResource{A: netip.MustParseAddr(outsideAddr).As4()})
		}
		out, _ := b.Finish()
		_, _ = pc.WriteTo(out, from)
	}
}

// hostRun runs a program of the host (nft, psql) in the box's network
// namespace only: the box's own tree (Debian 13's) need not have it.
func hostRun(b *box.Box, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), box.DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(b.PID1()), "-n", "--"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in the box's network namespace: %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
