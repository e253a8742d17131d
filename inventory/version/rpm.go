package version

import (
	"cmp"
)

// CompareRPM compares RPM versions [EPOCH:]VERSION[-RELEASE]: the epoch
// as a number (none is 0), then version and release by rpmvercmp. A
// release missing on either side is not compared, as rpm does when a
// dependency names no release.
func CompareRPM(a, b string) int {
	ea, va, ra := splitEVR(a)
	eb, vb, rb := splitEVR(b)
	if c := compareNumbers(ea, eb); c != 0 {
		return c
	}
	if c := rpmvercmp(va, vb); c != 0 {
		return c
	}
	if ra == "" || rb == "" {
		if ra == rb {
			return 0
		}
		// Not equal as strings either, so that the order stays total.
		if ra == "" {
			return -1
		}
		return 1
	}
	return rpmvercmp(ra, rb)
}

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// rpmvercmp is rpm's (4.18): segments of digits or of letters, anything
// else separates them; "~" sorts before everything, "^" after the end
// but before anything else; a digit segment is newer than a letter one.
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		at, bt := at(a, i), at(b, j)
		if at == '~' || bt == '~' {
			if at != '~' {
				return 1
			}
			if bt != '~' {
				return -1
			}
			i++
			j++
			continue
		}
		if at == '^' || bt == '^' {
			switch {
			case i >= len(a):
				return -1
			case j >= len(b):
				return 1
			case at != '^':
				return 1
			case bt != '^':
				return -1
			}
			i++
			j++
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		si, sj := i, j
		num := isDigit(a[i])
		for i < len(a) && (num && isDigit(a[i]) || !num && isAlpha(a[i])) {
			i++
		}
		for j < len(b) && (num && isDigit(b[j]) || !num && isAlpha(b[j])) {
			j++
		}
		if j == sj {
			// Segments of different kinds: the number is newer.
			if num {
				return 1
			}
			return -1
		}
		var c int
		if num {
			c = compareNumbers(a[si:i], b[sj:j])
		} else {
			c = cmp.Compare(a[si:i], b[sj:j])
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case i >= len(a) && j >= len(b):
		return 0 // equal but for separators: "1.0" and "1_0"
	case i < len(a):
		return 1
	}
	return -1
}

func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}
