package network

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Resolver answers the queries of containers on networks with DNS: the
// names of the containers on the networks of the one asking (Names, read
// from the store at each query: a few small files), and every other name
// from the host's resolvers. It runs as dockah-dns.service, on the
// sockets of dockah-dns.socket.
type Resolver struct {
	// Store is the image store whose network states name the containers.
	Store string
	// ResolvConf is the host's resolver configuration; empty:
	// /etc/resolv.conf.
	ResolvConf string
	// Idle ends Serve after this long without a query (0: never).
	Idle time.Duration
	// Log receives a line for each failure worth one.
	Log func(string)

	mu   sync.Mutex
	last time.Time
}

// Serve answers datagrams on pc and connections on l (either may be nil)
// until Idle has passed without a query.
func (r *Resolver) Serve(pc net.PacketConn, l net.Listener) error {
	r.touch()
	done := make(chan error, 2)
	if pc != nil {
		go func() { done <- r.serveUDP(pc) }()
	}
	if l != nil {
		go func() { done <- r.serveTCP(l) }()
	}
	if r.Idle <= 0 {
		return <-done
	}
	tick := time.NewTicker(r.Idle / 4)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			r.mu.Lock()
			idle := time.Since(r.last) > r.Idle
			r.mu.Unlock()
			if idle {
				return nil
			}
		}
	}
}

func (r *Resolver) touch() {
	r.mu.Lock()
	r.last = time.Now()
	r.mu.Unlock()
}

func (r *Resolver) serveUDP(pc net.PacketConn) error {
	buf := make([]byte, 4096)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		r.touch()
		src := addrOf(from)
		q := append([]byte(nil), buf[:n]...)
		go func() {
			if reply := r.Answer(q, src, false); reply != nil {
				_, _ = pc.WriteTo(reply, from)
			}
		}()
	}
}

func (r *Resolver) serveTCP(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		r.touch()
		go r.serveConn(c)
	}
}

func (r *Resolver) serveConn(c net.Conn) {
	defer c.Close()
	src := addrOf(c.RemoteAddr())
	for {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		r.touch()
		reply := r.Answer(q, src, true)
		if reply == nil {
			return
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(reply))), reply...)); err != nil {
			return
		}
	}
}

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// Answer returns the reply to the query q from src: the addresses of a
// container's name, the host's resolvers' answer for other names, or an
// error reply; nil for what is not a query.
func (r *Resolver) Answer(q []byte, src netip.Addr, tcp bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil || h.Response {
		return nil
	}
	question, err := p.Question()
	if err != nil {
		return reply(h, nil, dnsmessage.RCodeFormatError, nil)
	}
	names := NamesOf(ReadStates(r.Store))
	if !names.Known(src) {
		return reply(h, &question, dnsmessage.RCodeRefused, nil)
	}
	if addrs, found := names.Lookup(src, question.Name.String()); found {
		return reply(h, &question, dnsmessage.RCodeSuccess, addrs)
	}
	if up, err := r.forward(q, tcp); err == nil {
		return up
	} else if r.Log != nil {
		r.Log("forward " + question.Name.String() + ": " + err.Error())
	}
	return reply(h, &question, dnsmessage.RCodeServerFailure, nil)
}

// reply builds a reply to h with the addresses of the question's type.
func reply(h dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode, addrs []netip.Addr) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: h.ID, Response: true, Authoritative: rcode == dnsmessage.RCodeSuccess, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true, RCode: rcode,
	})
	b.EnableCompression()
	if q == nil {
		_ = b.StartQuestions()
		out, _ := b.Finish()
		return out
	}
	_ = b.StartQuestions()
	_ = b.Question(*q)
	_ = b.StartAnswers()
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
	for _, a := range addrs {
		switch {
		case a.Is4() && (q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL):
			_ = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		case a.Is6() && (q.Type == dnsmessage.TypeAAAA || q.Type == dnsmessage.TypeALL):
			_ = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
	}
	out, _ := b.Finish()
	return out
}

// forward asks the host's resolvers, in order, and returns the first
// answer.
func (r *Resolver) forward(q []byte, tcp bool) ([]byte, error) {
	path := r.ResolvConf
	if path == "" {
		path = "/etc/resolv.conf"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	errs := []error{errors.New("no name server in " + path)}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil || a == DNSAddress {
			continue
		}
		reply, err := exchange(netip.AddrPortFrom(a, 53).String(), q, tcp)
		if err == nil {
			return reply, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// exchange sends q to server and reads its reply, within 3 seconds.
func exchange(server string, q []byte, tcp bool) ([]byte, error) {
	network := "udp"
	if tcp {
		network = "tcp"
	}
	c, err := net.DialTimeout(network, server, 3*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if tcp {
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)); err != nil {
			return nil, err
		}
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return nil, err
		}
		out := make([]byte, binary.BigEndian.Uint16(size[:]))
		_, err := io.ReadFull(c, out)
		return out, err
	}
	if _, err := c.Write(q); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
