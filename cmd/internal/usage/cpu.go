package usage

import "time"

// CPUPercent is the CPU time used between two samples as a percentage of
// the wall-clock time between them: 100 is one CPU busy all along, 250
// two and a half, as podman and top count. ok is false when no time
// passed or the counter went back (a restarted container).
func CPUPercent(before, after uint64, elapsed time.Duration) (float64, bool) {
	if elapsed <= 0 || after < before {
		return 0, false
	}
	return float64(after-before) / float64(elapsed.Nanoseconds()) * 100, true
}
