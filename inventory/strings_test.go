package inventory

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func scanString(t *testing.T, data []byte) []versionString {
	t.Helper()
	got, n, err := scanVersionStrings(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(data)) {
		t.Errorf("read %d bytes of %d", n, len(data))
	}
	return got
}

func TestScanVersionStrings(t *testing.T) {
	zlib := "\x00 deflate 1.2.13 Copyright 1995-2022 Jean-loup Gailly and Mark Adler \x00 inflate 1.2.13 Copyright 1995-2022 Mark Adler \x00"
	got := scanString(t, []byte(zlib))
	want := []versionString{
		{Product: ProductZlib, Version: "1.2.13", Text: "deflate 1.2.13"},
		{Product: ProductZlib, Version: "1.2.13", Text: "inflate 1.2.13"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zlib (-want +got):\n%s", diff)
	}

	for text, want := range map[string][]versionString{
		"OpenSSL 3.0.11 19 Sep 2023":        {{ProductOpenSSL, "3.0.11", "OpenSSL 3.0.11"}},
		"OpenSSL 1.1.1w  11 Sep 2023":       {{ProductOpenSSL, "1.1.1w", "OpenSSL 1.1.1w"}},
		"deflate 1.2.11.1-motley Copyright": {{ProductZlib, "1.2.11.1-motley", "deflate 1.2.11.1-motley"}},
		// Version-like words that are not the strings.
		"OpenSSL 3.0 is great":                              nil,
		"OpenSSL 3.0.11 is great":                           nil,
		"deflate 1.2.13 is what we use":                     nil,
		"reflate 1.2.13 Copyright":                          nil,
		"deflate 1. Copyright":                              nil,
		"deflate .1.2 Copyright":                            nil,
		"inflate 99999999999999999999999999999.1 Copyright": nil,
	} {
		got := scanString(t, []byte("\x00"+text+"\x00"))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", text, diff)
		}
	}
}

// TestScanAcrossChunks: a string that straddles the reader's 1 MiB
// chunks is found once.
func TestScanAcrossChunks(t *testing.T) {
	for _, at := range []int{1<<20 - 10, 1<<20 - overlap, 1<<20 - overlap - 1, 1 << 20, 2<<20 - 3} {
		data := make([]byte, 3<<20)
		copy(data[at:], " inflate 1.2.11 Copyright ")
		got := scanString(t, data)
		if len(got) != 1 || got[0].Version != "1.2.11" {
			t.Errorf("string at %d: found %v", at, got)
		}
	}
}

// TestMisleadingStrings: a file whose strings disagree has a copy of
// unknown version, with the strings named; one full of them costs no
// more than its size.
func TestMisleadingStrings(t *testing.T) {
	data := []byte("deflate 1.2.11 Copyright\x00inflate 1.3.1 Copyright\x00")
	version, detail, ok := copyVersion(scanString(t, data), ProductZlib)
	if !ok || version != Unknown || !strings.Contains(detail, "deflate 1.2.11") || !strings.Contains(detail, "inflate 1.3.1") {
		t.Errorf("conflicting strings: %q, %q, %v", version, detail, ok)
	}
	var many bytes.Buffer
	for i := 0; many.Len() < 4<<20; i++ {
		many.WriteString("deflate 1.2." + itoa(i) + " Copyright\x00")
	}
	if got := scanString(t, many.Bytes()); len(got) > maxMatches {
		t.Errorf("kept %d strings of one file, want at most %d", len(got), maxMatches)
	}
}

func FuzzScanVersionStrings(f *testing.F) {
	f.Add([]byte(" deflate 1.2.13 Copyright "), int64(100))
	f.Add([]byte("OpenSSL 1.1.1w  11 Sep 2023"), int64(5))
	f.Add([]byte("inflate 1.2.11.1-motley Copyright"), int64(1<<20))
	f.Fuzz(func(t *testing.T, data []byte, budget int64) {
		if budget < 0 {
			budget = -budget
		}
		got, n, err := scanVersionStrings(bytes.NewReader(data), budget)
		if err != nil {
			t.Fatal(err)
		}
		if n > budget || n > int64(len(data)) {
			t.Fatalf("read %d bytes, budget %d, data %d", n, budget, len(data))
		}
		for _, v := range got {
			if !bytes.Contains(data, []byte(v.Version)) || v.Version == "" {
				t.Fatalf("version %q is not in the data", v.Version)
			}
		}
	})
}

func FuzzParseDpkgStatus(f *testing.F) {
	f.Add([]byte("Package: zlib1g\nStatus: install ok installed\nSource: zlib (1:1.2.13)\nVersion: 1\n\n"))
	f.Add([]byte("Package:\n \n\t\n:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := ParseDpkgStatus(data)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" {
				t.Fatalf("a package without a name: %+v", p)
			}
		}
	})
}

func FuzzParseAPKInstalled(f *testing.F) {
	f.Add([]byte("P:zlib\nV:1.2.13-r0\nF:lib\nR:libz.so.1\n\n"))
	f.Add([]byte("R:x\nF:\nP:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := ParseAPKInstalled(data)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" {
				t.Fatalf("a package without a name: %+v", p)
			}
			for _, f := range p.Files {
				if !strings.HasPrefix(f, "/") {
					t.Fatalf("a relative file %q", f)
				}
			}
		}
	})
}
