package version

import (
	"testing"
)

// ordered lists versions oldest first, for each ecosystem; every pair is
// checked both ways.
var ordered = map[string][][]string{
	Debian: {
		{"1.0~rc1", "1.0", "1.0-1", "1.0-1+b1", "1.0a", "1.0+dfsg-1", "1.1", "1.10", "2:0.9"},
		{"1:1.2.11.dfsg-2", "1:1.2.11.dfsg-2+deb11u2", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1+deb12u1", "1:1.3.dfsg-3", "1:1.3.dfsg+really1.3.1-1"},
		{"3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "3.0.11-1"},
		{"0:1.0", "1:0.1"},
		{"1.2.13~~", "1.2.13~", "1.2.13"},
	},
	RPM: {
		{"1.2.11-39.el9", "1.2.11-40.el9", "1.2.11-40.el9_1", "1.2.13-1.el9", "1:1.0-1"},
		{"1.0~rc1-1", "1.0-1", "1.0^git1-1", "1.0.1-1"},
		{"1.0-1", "1.0a-1"},
		{"2.a-1", "2.0-1"},
		{"1.01-1", "1.1a-1", "1.2-1"},
	},
	Alpine: {
		{"1.2.11-r0", "1.2.11-r3", "1.2.12_rc1-r0", "1.2.12-r0", "1.2.12_p1-r0", "1.2.12a-r0", "1.2.13-r0", "1.3-r0", "1.3.0-r0"},
		{"1.0_alpha1", "1.0_alpha2", "1.0_beta", "1.0_pre1", "1.0_rc1", "1.0", "1.0-r1", "1.0_cvs", "1.0_git20230101", "1.0_p1"},
		{"1.02", "1.1", "1.10"},
		{"invalid", "0.1"},
	},
	Semver: {
		{"v0.0.0-20210911072402-73bd0ce46c49", "v0.1.0", "v1.2.3-rc.1", "v1.2.3", "v1.10.0", "v2.0.0+incompatible"},
		{"1.21rc2", "1.21.0", "go1.21.3", "1.22"},
		{"not-a-version", "v0.0.1"},
	},
}

func TestOrder(t *testing.T) {
	for eco, lists := range ordered {
		for _, list := range lists {
			for i, a := range list {
				if c := Compare(eco, a, a); c != 0 {
					t.Errorf("%s: %q vs itself = %d", eco, a, c)
				}
				for _, b := range list[i+1:] {
					if c := Compare(eco, a, b); c >= 0 {
						t.Errorf("%s: %q vs %q = %d, want older", eco, a, b, c)
					}
					if c := Compare(eco, b, a); c <= 0 {
						t.Errorf("%s: %q vs %q = %d, want newer", eco, b, a, c)
					}
				}
			}
		}
	}
}

func TestEqual(t *testing.T) {
	for _, tt := range []struct{ eco, a, b string }{
		{Debian, "1.0", "0:1.0"},
		{Debian, "1.0-0", "1.0-"},
		{Debian, "1.01", "1.1"},
		{RPM, "1.0-1", "0:1.0-1"},
		{RPM, "1.0-1", "1_0-1"},
		{Alpine, "1.0-r0", "1.0"},
		{Semver, "v2.0.0+incompatible", "v2.0.0"},
		{Semver, "1.21.3", "v1.21.3"},
	} {
		if c := Compare(tt.eco, tt.a, tt.b); c != 0 {
			t.Errorf("%s: %q vs %q = %d, want equal", tt.eco, tt.a, tt.b, c)
		}
	}
}

// FuzzCompare: any strings compare without a panic, each with itself
// as equal and both ways with opposite signs, in every ecosystem; and
// three strings keep the order transitive.
func FuzzCompare(f *testing.F) {
	f.Add("1:1.2.13.dfsg-1", "1.2.13~rc1", "1.0^a")
	f.Add("1.2.11-r0", "1.2.11_p1_rc2-r3", "1.02")
	f.Add("v1.2.3-rc.1", "go1.21rc2", "1.0~")
	f.Add("~~", "^", "")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for _, eco := range []string{Debian, RPM, Alpine, Semver} {
			if Compare(eco, a, a) != 0 {
				t.Fatalf("%s: %q is not equal to itself", eco, a)
			}
			ab, ba := Compare(eco, a, b), Compare(eco, b, a)
			if ab != -ba {
				t.Fatalf("%s: %q vs %q = %d, but the other way %d", eco, a, b, ab, ba)
			}
			if eco == RPM {
				continue // rpmvercmp is known not to be transitive across separators
			}
			if ab < 0 && Compare(eco, b, c) < 0 && Compare(eco, a, c) >= 0 {
				t.Fatalf("%s: %q < %q < %q but not %q < %q", eco, a, b, c, a, c)
			}
		}
	})
}
