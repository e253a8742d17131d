package version

import (
	"cmp"
	"strings"

	"golang.org/x/mod/semver"
)

// CompareSemver compares semantic versions as Go modules do
// (golang.org/x/mod/semver), with or without the leading "v"; Go's own
// versions as the Go ecosystem writes them ("1.21.3", "go1.21.3",
// "1.21rc2"). An invalid version is older than every valid one, and
// invalid ones compare as strings.
func CompareSemver(a, b string) int {
	ca, cb := canonicalSemver(a), canonicalSemver(b)
	va, vb := semver.IsValid(ca), semver.IsValid(cb)
	switch {
	case !va && !vb:
		return cmp.Compare(a, b)
	case !va:
		return -1
	case !vb:
		return 1
	}
	if c := semver.Compare(ca, cb); c != 0 {
		return c
	}
	// Equal but for build metadata ("+incompatible"): equal.
	return 0
}

// canonicalSemver adds the "v" and spells Go's pre-releases as semver's:
// go1.21rc2 is v1.21.0-rc.2.
func canonicalSemver(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "go")
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	for _, pre := range []string{"rc", "beta", "alpha"} {
		i := strings.Index(v, pre)
		if i <= 0 || !isDigit(v[i-1]) || strings.ContainsAny(v[:i], "-+") {
			continue
		}
		base, n := v[:i], v[i+len(pre):]
		if strings.Count(base, ".") == 1 {
			base += ".0"
		}
		return base + "-" + pre + "." + n
	}
	return v
}
