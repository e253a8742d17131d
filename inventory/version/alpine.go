package version

import (
	"cmp"
	"strings"
)

// Alpine's suffixes, in their order: the pre-release ones sort before no
// suffix, the others after.
var alpineSuffixes = map[string]int{
	"alpha": 0, "beta": 1, "pre": 2, "rc": 3,
	"cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9,
}

// noSuffix is the rank of a version without (more) suffixes.
const noSuffix = 4

type apkVersion struct {
	numbers  []string // 1.2.3
	letter   byte     // 1.2.3a; 0 when none
	suffixes [][2]string
	revision string // -r4: "4"
	valid    bool
	raw      string
}

// parseAlpine reads NUMBER{.NUMBER}[LETTER]{_SUFFIX[NUMBER]}[~HASH][-rREV].
func parseAlpine(v string) apkVersion {
	p := apkVersion{raw: v}
	s := strings.TrimSpace(v)
	if i := strings.LastIndex(s, "-r"); i >= 0 && i+2 < len(s) && strings.Trim(s[i+2:], "0123456789") == "" {
		p.revision = s[i+2:]
		s = s[:i]
	}
	if i := strings.IndexByte(s, '~'); i >= 0 {
		s = s[:i] // a commit hash after ~ does not order
	}
	for {
		n := 0
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n == 0 {
			return p // invalid: compared as a string
		}
		p.numbers = append(p.numbers, s[:n])
		s = s[n:]
		if len(s) > 1 && s[0] == '.' && isDigit(s[1]) {
			s = s[1:]
			continue
		}
		break
	}
	if len(s) > 0 && s[0] >= 'a' && s[0] <= 'z' && (len(s) == 1 || s[1] == '_') {
		p.letter = s[0]
		s = s[1:]
	}
	for len(s) > 0 {
		if s[0] != '_' {
			return p
		}
		s = s[1:]
		n := 0
		for n < len(s) && s[n] >= 'a' && s[n] <= 'z' {
			n++
		}
		if _, ok := alpineSuffixes[s[:n]]; !ok {
			return p
		}
		name := s[:n]
		s = s[n:]
		m := 0
		for m < len(s) && isDigit(s[m]) {
			m++
		}
		p.suffixes = append(p.suffixes, [2]string{name, s[:m]})
		s = s[m:]
	}
	p.valid = true
	return p
}

// CompareAlpine compares apk versions as apk-tools does: the numbers
// (the first as a number, later ones starting with 0 as decimal
// fractions, 1.02 < 1.1), more numbers newer; a letter newer than none;
// then suffixes (_alpha < _beta < _pre < _rc < none < _cvs < _svn < _git
// < _hg < _p, each with its number); then the revision -rN. An invalid
// version is older than every valid one, and invalid ones compare as
// strings.
func CompareAlpine(a, b string) int {
	pa, pb := parseAlpine(a), parseAlpine(b)
	switch {
	case !pa.valid && !pb.valid:
		return cmp.Compare(a, b)
	case !pa.valid:
		return -1
	case !pb.valid:
		return 1
	}
	for i := 0; i < len(pa.numbers) && i < len(pb.numbers); i++ {
		x, y := pa.numbers[i], pb.numbers[i]
		var c int
		if i > 0 && (x[0] == '0' || y[0] == '0') {
			c = cmp.Compare(strings.TrimRight(x, "0"), strings.TrimRight(y, "0"))
		} else {
			c = compareNumbers(x, y)
		}
		if c != 0 {
			return c
		}
	}
	if c := cmp.Compare(len(pa.numbers), len(pb.numbers)); c != 0 {
		return c
	}
	if c := cmp.Compare(int(pa.letter), int(pb.letter)); c != 0 {
		return c
	}
	for i := 0; i < len(pa.suffixes) || i < len(pb.suffixes); i++ {
		ra, na := suffixAt(pa.suffixes, i)
		rb, nb := suffixAt(pb.suffixes, i)
		if c := cmp.Compare(ra, rb); c != 0 {
			return c
		}
		if c := compareNumbers(orZero(na), orZero(nb)); c != 0 {
			return c
		}
	}
	return compareNumbers(orZero(pa.revision), orZero(pb.revision))
}

func suffixAt(s [][2]string, i int) (rank int, number string) {
	if i >= len(s) {
		return noSuffix, ""
	}
	return alpineSuffixes[s[i][0]], s[i][1]
}
