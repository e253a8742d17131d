// Package version compares package versions by each ecosystem's own
// rules: Debian's (dpkg's: epochs, "~" sorting before everything),
// RPM's (rpmvercmp: epochs, "~" and "^"), Alpine's (apk's suffixes and
// revisions) and semantic versions as Go modules use them.
//
// Versions come from images and vulnerability data: hostile text. Every
// function takes any string, never panics, and orders consistently
// (Compare(a, b) == -Compare(b, a), Compare(a, a) == 0); a string that is
// no valid version still has a place in the order. Pure: no I/O.
package version

import (
	"cmp"
	"strings"
)

// Ecosystems this package compares.
const (
	Debian = "deb"
	RPM    = "rpm"
	Alpine = "apk"
	Semver = "semver"
)

// Compare compares a and b by the rules of ecosystem (Debian, RPM,
// Alpine or Semver): negative when a is older, 0 when equal, positive
// when newer. An unknown ecosystem compares the strings.
func Compare(ecosystem, a, b string) int {
	switch ecosystem {
	case Debian:
		return CompareDebian(a, b)
	case RPM:
		return CompareRPM(a, b)
	case Alpine:
		return CompareAlpine(a, b)
	case Semver:
		return CompareSemver(a, b)
	}
	return cmp.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// compareNumbers compares two strings of digits as numbers of any
// length.
func compareNumbers(a, b string) int {
	for len(a) > 1 && a[0] == '0' {
		a = a[1:]
	}
	for len(b) > 1 && b[0] == '0' {
		b = b[1:]
	}
	if len(a) != len(b) {
		return cmp.Compare(len(a), len(b))
	}
	return cmp.Compare(a, b)
}

// splitEVR splits [EPOCH:]VERSION[-RELEASE] (Debian's upstream version
// and revision, RPM's version and release): the epoch is "0" when there
// is none or it is not a number.
func splitEVR(v string) (epoch, version, release string) {
	v = strings.TrimSpace(v)
	epoch = "0"
	if i := strings.IndexByte(v, ':'); i >= 0 {
		if e := v[:i]; e != "" && strings.Trim(e, "0123456789") == "" {
			epoch = e
		}
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}
