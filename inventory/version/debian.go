package version

import (
	"cmp"
)

// CompareDebian compares Debian versions as dpkg does:
// [EPOCH:]UPSTREAM[-REVISION], the epoch as a number (none is 0), then
// upstream and revision by dpkg's verrevcmp, where "~" sorts before
// everything, even the end of the string (1.0~rc1 < 1.0), and letters
// before other characters.
func CompareDebian(a, b string) int {
	ea, ua, ra := splitEVR(a)
	eb, ub, rb := splitEVR(b)
	if c := compareNumbers(ea, eb); c != 0 {
		return c
	}
	if c := verrevcmp(ua, ub); c != 0 {
		return c
	}
	return verrevcmp(ra, rb)
}

// order is dpkg's weight of a character of a non-digit part.
func order(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	switch c := s[i]; {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
}

// verrevcmp is dpkg's: alternate non-digit parts, compared character by
// character by order, and digit parts, compared as numbers.
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := order(a, i), order(b, j)
			if ac != bc {
				return cmp.Compare(ac, bc)
			}
			i++
			j++
		}
		si := i
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		sj := j
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if c := compareNumbers(orZero(a[si:i]), orZero(b[sj:j])); c != 0 {
			return c
		}
	}
	return 0
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
