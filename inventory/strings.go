package inventory

import (
	"bytes"
	"io"
	"sort"
	"strings"
	"sync"
)

// A library's copies are found by the version strings it compiles in:
//
//	zlib     " deflate 1.2.13 Copyright 1995-2022 Jean-loup Gailly and Mark Adler "
//	         " inflate 1.2.13 Copyright 1995-2022 Mark Adler "
//	OpenSSL  "OpenSSL 3.0.11 19 Sep 2023", "OpenSSL 1.1.1w  11 Sep 2023"
//
// Each match is checked for its whole shape (a version of digits and
// dots, then " Copyright" for zlib, a date for OpenSSL), so that a
// version-like word elsewhere is not taken for a copy.

// Products whose copies are looked for, as Package.Source names them.
const (
	ProductZlib    = "zlib"
	ProductOpenSSL = "openssl"
)

// versionString is one version string found in a file.
type versionString struct {
	Product string
	Version string
	Text    string // the string as found, for Found.Detail
}

// maxMatches bounds the version strings kept from one file: a hostile
// file full of them costs time linear in its size and no memory.
const maxMatches = 16

var (
	needleFlate   = []byte("flate ")
	needleOpenSSL = []byte("OpenSSL ")
)

// scanBuffers are the 1 MiB buffers files are read through, reused from
// file to file: an image has thousands of small binaries.
var scanBuffers = sync.Pool{New: func() any {
	b := make([]byte, 1<<20)
	return &b
}}

// overlap is how much of a chunk is read again with the next: longer
// than any version string.
const overlap = 96

// scanVersionStrings reads r to its end (at most budget bytes) and
// returns the distinct version strings in it, and how many bytes it read.
func scanVersionStrings(r io.Reader, budget int64) ([]versionString, int64, error) {
	seen := map[versionString]bool{}
	bp := scanBuffers.Get().(*[]byte)
	defer scanBuffers.Put(bp)
	buf := *bp
	if budget+overlap < int64(len(buf)) {
		buf = buf[:budget+overlap] // a small file reads into a small slice
	}
	keep := 0 // bytes carried over from the last chunk
	var total int64
	for total < budget {
		want := len(buf) - keep
		if rest := budget - total; int64(want) > rest {
			want = int(rest)
		}
		n, err := io.ReadFull(r, buf[keep:keep+want])
		total += int64(n)
		chunk := buf[:keep+n]
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, total, err
		}
		end := err != nil || total >= budget
		findVersionStrings(chunk, end, seen)
		if end {
			break
		}
		// Carry the tail over: a string may straddle the boundary.
		keep = min(overlap, len(chunk))
		copy(buf, chunk[len(chunk)-keep:])
	}
	var out []versionString
	for v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Product != out[j].Product {
			return out[i].Product < out[j].Product
		}
		return out[i].Text < out[j].Text
	})
	return out, total, nil
}

// findVersionStrings adds the version strings of chunk to seen. Matches
// that start in the chunk's last overlap bytes are left to the next
// chunk (which rereads them), unless this is the last.
func findVersionStrings(chunk []byte, last bool, seen map[versionString]bool) {
	limit := len(chunk)
	if !last {
		limit -= overlap
	}
	for _, needle := range [][]byte{needleFlate, needleOpenSSL} {
		for off := 0; off < limit; {
			i := bytes.Index(chunk[off:], needle)
			if i < 0 || off+i >= limit {
				break
			}
			at := off + i
			off = at + 1
			if len(seen) >= maxMatches {
				return
			}
			var v versionString
			var ok bool
			if needle[0] == 'f' {
				v, ok = matchZlib(chunk, at)
			} else {
				v, ok = matchOpenSSL(chunk[at:])
			}
			if ok {
				seen[v] = true
			}
		}
	}
}

// matchZlib checks "deflate VERSION Copyright" or "inflate VERSION
// Copyright" around the "flate " at chunk[at:].
func matchZlib(chunk []byte, at int) (versionString, bool) {
	if at < 2 {
		return versionString{}, false
	}
	var word string
	switch string(chunk[at-2 : at]) {
	case "de":
		word = "deflate"
	case "in":
		word = "inflate"
	default:
		return versionString{}, false
	}
	rest := chunk[at+len(needleFlate):]
	n := versionLen(rest, true)
	if n == 0 || !bytes.HasPrefix(rest[n:], []byte(" Copyright")) {
		return versionString{}, false
	}
	version := string(rest[:n])
	return versionString{Product: ProductZlib, Version: version, Text: word + " " + version}, true
}

// matchOpenSSL checks "OpenSSL VERSION DD Mon YYYY" at s.
func matchOpenSSL(s []byte) (versionString, bool) {
	rest := s[len(needleOpenSSL):]
	n := versionLen(rest, false)
	if n == 0 || strings.Count(string(rest[:n]), ".") < 2 {
		return versionString{}, false
	}
	version := string(rest[:n])
	// OpenSSL before 3 puts one or two letters after the numbers (1.1.1w).
	n2 := n
	for n2 < len(rest) && n2-n < 2 && rest[n2] >= 'a' && rest[n2] <= 'z' {
		n2++
	}
	version = string(rest[:n2])
	date := bytes.TrimLeft(rest[n2:], " ")
	if len(date) == len(rest[n2:]) || !isDate(date) {
		return versionString{}, false
	}
	return versionString{Product: ProductOpenSSL, Version: version, Text: "OpenSSL " + version}, true
}

// versionLen is the length of the version at the start of s: digits and
// dots, starting with a digit, at most 24 bytes; with suffix, zlib's
// development suffix (1.2.11.1-motley) too.
func versionLen(s []byte, suffix bool) int {
	n := 0
	for n < len(s) && n < 24 && (isDigit(s[n]) || s[n] == '.' && n > 0 && s[n-1] != '.') {
		n++
	}
	for n > 0 && s[n-1] == '.' {
		n--
	}
	if n == 0 || !isDigit(s[0]) || !bytes.Contains(s[:n], []byte(".")) {
		return 0
	}
	if suffix && n < len(s) && s[n] == '-' {
		m := n + 1
		for m < len(s) && m-n < 12 && (s[m] >= 'a' && s[m] <= 'z' || isDigit(s[m])) {
			m++
		}
		if m > n+1 {
			n = m
		}
	}
	return n
}

// isDate checks "DD Mon YYYY" (day of one or two digits).
func isDate(s []byte) bool {
	i := 0
	for i < len(s) && i < 2 && isDigit(s[i]) {
		i++
	}
	if i == 0 || len(s) < i+9 || s[i] != ' ' {
		return false
	}
	mon := s[i+1 : i+4]
	if !(mon[0] >= 'A' && mon[0] <= 'Z' && mon[1] >= 'a' && mon[1] <= 'z' && mon[2] >= 'a' && mon[2] <= 'z') || s[i+4] != ' ' {
		return false
	}
	for _, c := range s[i+5 : i+9] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// copyVersion is the version of a product that a file's strings give:
// the one version they agree on, or Unknown with the strings in detail
// when they disagree.
func copyVersion(strs []versionString, product string) (version, detail string, found bool) {
	var texts []string
	versions := map[string]bool{}
	for _, s := range strs {
		if s.Product == product {
			texts = append(texts, s.Text)
			versions[s.Version] = true
		}
	}
	switch len(versions) {
	case 0:
		return "", "", false
	case 1:
		for v := range versions {
			version = v
		}
		return version, strings.Join(texts, ", "), true
	}
	return Unknown, "conflicting version strings: " + strings.Join(texts, ", "), true
}
