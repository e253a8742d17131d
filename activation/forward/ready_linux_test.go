package forward

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestReadyPollInterval(t *testing.T) {
	for _, tc := range []struct {
		elapsed, want time.Duration
	}{
		{0, 500 * time.Microsecond},
		{7 * time.Millisecond, 500 * time.Microsecond},
		{99 * time.Millisecond, 500 * time.Microsecond},
		{100 * time.Millisecond, 25 * time.Millisecond},
		{160 * time.Millisecond, 40 * time.Millisecond},
		{200 * time.Millisecond, 50 * time.Millisecond},
		{30 * time.Second, 50 * time.Millisecond},
	} {
		if got := readyPollInterval(tc.elapsed); got != tc.want {
			t.Errorf("readyPollInterval(%v) = %v, want %v", tc.elapsed, got, tc.want)
		}
	}
}

// BenchmarkWaitReadyOvershoot measures how late waitReady finds an
// application that starts listening 1 to 12 ms after it began (a cold
// start's usual range): the client's first byte waits that much longer.
// Reported as overshoot-ms, the mean over the iterations.
func BenchmarkWaitReadyOvershoot(b *testing.B) {
	d, err := newNSDialer(0, nil, true, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer d.close()
	f := &forwarder{opts: Options{Addr: netip.AddrFrom4([4]byte{127, 0, 0, 1}), ReadyTimeout: 5 * time.Second}, dialer: d}
	var late time.Duration
	for i := 0; i < b.N; i++ {
		probe, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		port := probe.Addr().(*net.TCPAddr).Port
		probe.Close()
		delay := time.Duration(1+i%12) * time.Millisecond
		listening := make(chan time.Time, 1)
		go func() {
			time.Sleep(delay)
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				listening <- time.Time{}
				return
			}
			listening <- time.Now()
			time.Sleep(100 * time.Millisecond)
			l.Close()
		}()
		if _, err := f.waitReady(context.Background(), port); err != nil {
			b.Fatal(err)
		}
		found := time.Now()
		at := <-listening
		if at.IsZero() {
			b.Fatal("the port was taken")
		}
		late += found.Sub(at)
	}
	b.ReportMetric(float64(late.Microseconds())/1000/float64(b.N), "overshoot-ms")
}
