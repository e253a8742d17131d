package registries

import "testing"

func TestScanLines(t *testing.T) {
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
`
	ix := scanLines(src)
	tests := map[string]int{
		"\x00search":                    2,
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
		"\x00registry\x002":                            11, // the array's first table
	}
	for path, want := range tests {
		if got := ix.line(path); got != want {
			t.Errorf("line(%q) = %d, want %d", path, got, want)
		}
	}
}
