package usage

import (
	"os"
	"strconv"
	"strings"
)

// NetIO returns the bytes received and sent on every interface of the
// network namespace of pid (/proc/PID/net/dev), loopback included: a
// container without a network talks to its forwarder over loopback. ok is
// false when pid shares the caller's network namespace, whose traffic is
// the host's, not the container's.
func NetIO(pid int) (rx, tx uint64, ok bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	theirs, err1 := os.Readlink(dir + "/ns/net")
	ours, err2 := os.Readlink("/proc/self/ns/net")
	if err1 != nil || err2 != nil || theirs == ours {
		return 0, 0, false
	}
	data, err := os.ReadFile(dir + "/net/dev")
	if err != nil {
		return 0, 0, false
	}
	rx, tx = NetDev(string(data))
	return rx, tx, true
}

// NetDev sums the received and transmitted bytes of /proc/net/dev:
// two header lines, then "  IFACE: RXBYTES RXPACKETS ... TXBYTES ...".
func NetDev(text string) (rx, tx uint64) {
	for _, line := range strings.Split(text, "\n") {
		_, counters, ok := strings.Cut(line, ":")
		f := strings.Fields(counters)
		if !ok || len(f) < 9 {
			continue
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 == nil && err2 == nil {
			rx += r
			tx += t
		}
	}
	return rx, tx
}
