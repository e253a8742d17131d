package unitgen

import (
	"math"
	"strconv"
	"strings"
	"time"
)

const acceptSize = `bytes with an optional K, M, G or T suffix (1024-based), or "infinity"`

// parseSize parses a byte size as systemd's MemoryMax= does (1024-based
// suffixes, upper or lower case) or "infinity" (Unlimited).
func parseSize(s string) (uint64, bool) {
	if s == "infinity" {
		return Unlimited, true
	}
	shift := 0
	if s != "" {
		if i := strings.IndexByte("KMGT", upperByte(s[len(s)-1])); i >= 0 {
			shift = 10 * (i + 1)
			s = s[:len(s)-1]
		}
	}
	if s == "" || !allIn(s, digits) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > math.MaxUint64>>shift || n<<shift == Unlimited {
		return 0, false
	}
	return n << shift, true
}

func upperByte(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

// formatSize formats a size with the largest exact suffix.
func formatSize(n uint64) string {
	if n == Unlimited {
		return "infinity"
	}
	suffix := ""
	for _, s := range []string{"K", "M", "G", "T"} {
		if n == 0 || n%1024 != 0 {
			break
		}
		n /= 1024
		suffix = s
	}
	return strconv.FormatUint(n, 10) + suffix
}

const acceptDuration = `a time span like "90s", "5min", "1h 30min", "500ms", a number of seconds, or "infinity"`

// timeUnits are the units of a systemd time span, longest names first
// where one is a prefix of another.
var timeUnits = []struct {
	name string
	d    time.Duration
}{
	{"usec", time.Microsecond}, {"us", time.Microsecond}, {"µs", time.Microsecond},
	{"msec", time.Millisecond}, {"ms", time.Millisecond},
	{"seconds", time.Second}, {"second", time.Second}, {"sec", time.Second}, {"s", time.Second},
	{"minutes", time.Minute}, {"minute", time.Minute}, {"min", time.Minute},
	{"months", 2629800 * time.Second}, {"month", 2629800 * time.Second}, {"M", 2629800 * time.Second},
	{"m", time.Minute},
	{"hours", time.Hour}, {"hour", time.Hour}, {"hr", time.Hour}, {"h", time.Hour},
	{"days", 24 * time.Hour}, {"day", 24 * time.Hour}, {"d", 24 * time.Hour},
	{"weeks", 7 * 24 * time.Hour}, {"week", 7 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour},
	{"years", 31557600 * time.Second}, {"year", 31557600 * time.Second}, {"y", 31557600 * time.Second},
}

// parseDuration parses a systemd time span: "infinity", or numbers (with
// an optional fraction) each followed by a unit, blanks allowed between; a
// number without a unit is seconds.
func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "infinity" {
		return Infinity, true
	}
	if s == "" {
		return 0, false
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || s[0] == '.' {
			return 0, false
		}
		s = strings.TrimLeft(s[i:], " ")
		unit := time.Second
		for _, u := range timeUnits {
			if rest, ok := strings.CutPrefix(s, u.name); ok && (rest == "" || !isLetter(rest[0])) {
				unit, s = u.d, rest
				break
			}
		}
		total += n * float64(unit)
		s = strings.TrimLeft(s, " ")
	}
	if total >= float64(Infinity) {
		return 0, false
	}
	return time.Duration(total), true
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// formatDuration formats d for systemd with the largest exact unit.
func formatDuration(d time.Duration) string {
	if d == Infinity {
		return "infinity"
	}
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"h", time.Hour}, {"min", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d/time.Microsecond), 10) + "us"
}
