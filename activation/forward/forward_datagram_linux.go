package forward

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// datagramIdle is how long a client's association with the application
// lives without traffic, as a NAT would keep it.
const datagramIdle = 60 * time.Second

// serveDatagram forwards datagrams: each client address gets its own
// connected socket in the container, so the application's replies can be
// sent back to the right client from the activated socket.
func (f *forwarder) serveDatagram(ctx context.Context, fw Socket) error {
	pc, err := net.FilePacketConn(fw.Listener)
	if err != nil {
		return fmt.Errorf("forward datagrams to port %d: %w", fw.Port, err)
	}
	defer pc.Close()
	// Whether a datagram port listens cannot be probed; it counts as
	// ready, and early datagrams are retried by their senders.
	if err := f.ready(1); err != nil {
		return err
	}
	go func() { <-ctx.Done(); pc.Close() }()
	var mu sync.Mutex
	peers := map[string]net.Conn{}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read the forwarded datagram socket of port %d: %w", fw.Port, err)
		}
		mu.Lock()
		server, ok := peers[from.String()]
		mu.Unlock()
		if !ok {
			server, err = f.dialer.dial(ctx, "udp", netip.AddrPortFrom(f.opts.Addr, uint16(fw.Port)))
			if err != nil {
				f.opts.Log(fmt.Sprintf("datagram from %s: port %d in the container: %v", from, fw.Port, err))
				continue
			}
			mu.Lock()
			peers[from.String()] = server
			mu.Unlock()
			f.track(+1)
			go func(from net.Addr, server net.Conn) {
				defer f.track(-1)
				f.replies(pc, from, server)
				mu.Lock()
				delete(peers, from.String())
				mu.Unlock()
				server.Close()
			}(from, server)
		}
		_ = server.SetWriteDeadline(time.Now().Add(datagramIdle))
		if _, err := server.Write(buf[:n]); err != nil {
			f.opts.Log(fmt.Sprintf("datagram from %s to port %d: %v", from, fw.Port, err))
		}
	}
}

// replies sends the application's datagrams back to the client until the
// association has been idle for datagramIdle.
func (f *forwarder) replies(pc net.PacketConn, client net.Addr, server net.Conn) {
	buf := make([]byte, 65536)
	for {
		_ = server.SetReadDeadline(time.Now().Add(datagramIdle))
		n, err := server.Read(buf)
		if err != nil {
			return
		}
		if _, err := pc.WriteTo(buf[:n], client); err != nil {
			return
		}
	}
}
