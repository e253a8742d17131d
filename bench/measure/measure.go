// Package measure holds what the benchmark programs under bench/ measure
// alike: the first byte of a new connection, and quantiles of samples.
package measure

import (
	"net"
	"sort"
	"time"
)

// FirstByte times a new connection to addr: connect, send an HTTP
// request, read the first byte of the answer.
func FirstByte(addr string) (time.Duration, error) {
	t0 := time.Now()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		return 0, err
	}
	var one [1]byte
	if _, err := c.Read(one[:]); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// Quantile returns the q-quantile of ds (nearest rank), 0 for none.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1)+0.5)]
}

// Millis returns d in milliseconds.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
