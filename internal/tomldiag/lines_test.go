package tomldiag

import (
	"strings"
	"testing"
	"time"
)

func TestScan(t *testing.T) {
	src := `# comment [not a header]
search = [
  "a.io", # ] a comment with a bracket
  "b.io",
]
text = """
[[registry]]
location = "fake"
"""
'literal.key' = 'x'   # trailing
[[registry]]
location = "r0"
[[registry.mirror]]
location = "m0"
[[registry]]
  location = "r1" # indented
[[registry.mirror]]
location = "m0 of r1"
[[registry.mirror]]
location = "m1 of r1"
[aliases]
"with \" quote" = "v"
a.b.c = 1
"\u00e9\tx" = 2
[container]
environment = { A = "1", B = "2" }
volumes = [
  { source = "/a" },
  { source = "/b", target = [1, 2] },
]
`
	ix := Scan(src)
	tests := map[string]int{
		"\x00search":                    2,
		"\x00search\x001":               4,
		"\x00text":                      6,
		"\x00literal.key":               10,
		"\x00registry\x000\x00location": 12,
		"\x00registry\x000\x00mirror\x000\x00location": 14,
		"\x00registry\x001\x00location":                16,
		"\x00registry\x001\x00mirror\x000\x00location": 18,
		"\x00registry\x001\x00mirror\x001\x00location": 20,
		"\x00registry\x001\x00mirror\x001\x00nothing":  19, // the table's line
		"\x00aliases\x00with \" quote":                 22,
		"\x00aliases\x00a\x00b\x00c":                   23,
		"\x00aliases\x00é\tx":                          24,
		"\x00registry\x002":                            11, // the array's first table
		"\x00container\x00environment\x00B":            26,
		"\x00container\x00volumes\x001\x00source":      29,
		"\x00container\x00volumes\x001\x00target\x001": 29,
		"\x00nothing": 0,
	}
	for path, want := range tests {
		if got := ix.Line(path); got != want {
			t.Errorf("Line(%q) = %d, want %d", path, got, want)
		}
	}
	shallow := ScanShallow(src)
	for path, want := range map[string]int{
		"\x00search\x001":                              2, // the line of search
		"\x00container\x00volumes\x001\x00source":      27,
		"\x00registry\x001\x00mirror\x001\x00location": 20,
		"\x00aliases\x00a\x00b\x00c":                   23,
	} {
		if got := shallow.Line(path); got != want {
			t.Errorf("shallow Line(%q) = %d, want %d", path, got, want)
		}
	}
	if got, want := Path(Path("", "a.b"), "0"), "\x00a.b\x000"; got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}

// Hostile nesting and key depth cost time linear in the input: what lies
// below the bounds shares the line of what holds it.
func TestScanBoundsDepth(t *testing.T) {
	deepKey := strings.Repeat("a.", 100_000) + "a = 1\n"
	deepValue := "x = " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n" +
		"y = " + strings.Repeat("{a = ", 100_000) + "1" + strings.Repeat("}", 100_000) + "\n"
	for _, src := range []string{deepKey, deepValue} {
		start := time.Now()
		ix := Scan(src)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("Scan of %d bytes took %s", len(src), elapsed)
		}
		if len(ix) > 100 {
			t.Errorf("Scan of %d bytes indexed %d paths", len(src), len(ix))
		}
	}
	if got := Scan(deepKey).Line(strings.Repeat("\x00a", 100)); got != 1 {
		t.Errorf("a key below the bound has the line %d, want 1", got)
	}
}

// FuzzScan feeds any text to Scan: it must not panic or hang.
func FuzzScan(f *testing.F) {
	for _, seed := range []string{
		"[a]\nb = 1\n",
		"a = [{ b = \"\"\"x\n]\"\"\" }]\n[[c]]\n'd' = 1\n",
		"\"\\u00e9\" = '''x''''\n[[x.y]]\n[x]\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		ix := Scan(src)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("Scan took %s", elapsed)
		}
		for _, l := range ix {
			if l < 1 || l > strings.Count(src, "\n")+1 {
				t.Fatalf("a line %d outside the input", l)
			}
		}
	})
}
