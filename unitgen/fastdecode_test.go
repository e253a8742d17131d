package unitgen

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

// dumpTree writes a node tree as text, keys sorted, with each node's line,
// so that two decoders can be compared.
func dumpTree(b *strings.Builder, n *node, indent string) {
	switch {
	case n.table != nil:
		fmt.Fprintf(b, "table @%d\n", n.line)
		keys := make([]string, 0, len(n.table))
		for k := range n.table {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(b, "%s%q: ", indent+"  ", k)
			dumpTree(b, n.table[k], indent+"  ")
		}
	case n.array:
		fmt.Fprintf(b, "array @%d\n", n.line)
		for _, e := range n.list {
			b.WriteString(indent + "  - ")
			dumpTree(b, e, indent+"  ")
		}
	default:
		fmt.Fprintf(b, "%T %#v @%d\n", n.value, n.value, n.line)
	}
}

func dump(n *node) string {
	var b strings.Builder
	dumpTree(&b, n, "")
	return b.String()
}

// fastDecodeCases are inputs the fast decoder takes, and must decode as
// the reference decoder does.
var fastDecodeCases = []string{
	"",
	"# only a comment\n\n",
	"a = 1\nb = -2\nc = +3\nd = 0\ne = 1_000\nf = 0xdead_BEEF\ng = 0o755\nh = 0b101\n",
	"a = true\nb = false\n",
	`a = "x\ty\u00e9\U0001F600\"\\"` + "\nb = 'C:\\path'\n",
	"[t]\nk = 'v' # comment\n\n[t.sub]\nx = 1\n",
	"[a.b.c]\nx = 1\n[a]\ny = 2\n",
	"[[s]]\nl = 1\n[[s]]\nl = 2\n[s.opt]\nz = 3\n",
	"k = [1, 2,\n  3, # three\n]\nempty = []\nnested = [[1], ['a']]\n",
	"e = { A = 'x', B.C = 2 }\nempty = {}\n",
	"a.b.c = 1\na.b.d = 2\n",
	"\"quoted key\" = 1\n'lit.key' = 2\n\"\" = 3\n",
	"s = [ { l = 1 }, { l = 2 } ]\n",
	"a = 1\r\nb = 2\r\n",
	"[ spaced . header ]\n[[ arr ]]\n",
}

// fastDecodeRejects are inputs the fast decoder leaves to the reference
// decoder: errors and what it does not take.
var fastDecodeRejects = []string{
	"a = 1\na = 2\n",            // duplicate key
	"[t]\n[t]\n",                // table defined twice
	"a.b = 1\n[a]\n",            // dotted table, then a header
	"a = {b = 1}\na.c = 2\n",    // inline tables are closed
	"a = 1.5\n",                 // float
	"a = 1979-05-27\n",          // date
	"a = \"\"\"\nmulti\"\"\"\n", // multi-line string
	"a = { b = 1, }\n",          // TOML 1.1 trailing comma
	"a = {\n b = 1 }\n",         // TOML 1.1 newline
	"a = \"\\e\"\n",             // TOML 1.1 escape
	"a = 01\n",                  // leading zero
	"a = 1__0\n",                // double underscore
	"a = -0x1\n",                // sign on hex
	"a = \"x\ny\"\n",            // line break in a string
	"a = 1 b = 2\n",             // two values on a line
	"a = 1\rb = 2\n",            // lone carriage return
	"[[a]]\n[a]\n",              // array of tables, then a table
	"a = []\n[[a]]\n",           // static array, then a table of it
	"a = 1 # \x01\n",            // control character in a comment
	"a = \xff\n",                // not UTF-8
	"a = \"\\ud800\"\n",         // surrogate
	"a =\n",                     // no value
	"[a\n",                      // unclosed header
	"a = [1,,2]\n",              // empty element
	"a = 'unterminated\n",       // unterminated string
	"= 1\n",                     // no key
	"a = \"\\u00\"\n",           // short escape
	"[ [a] ]\n",                 // spaced brackets
	"a = tru\n",                 // not a boolean
	"a = 9223372036854775808\n", // overflows int64
}

func TestFastDecodeAgreesWithReference(t *testing.T) {
	for _, src := range fastDecodeCases {
		fast, ok := fastDecode(src, "f")
		if !ok {
			t.Errorf("fastDecode(%q) refused", src)
			continue
		}
		slow, diag := slowDecode("u", "f", src)
		if diag != nil {
			t.Errorf("fastDecode(%q) took what the reference refuses: %v", src, diag)
			continue
		}
		if diff := cmp.Diff(dump(slow), dump(fast)); diff != "" {
			t.Errorf("fastDecode(%q) differs from the reference (-reference +fast):\n%s", src, diff)
		}
	}
}

func TestFastDecodeLeavesToReference(t *testing.T) {
	for _, src := range fastDecodeRejects {
		if n, ok := fastDecode(src, "f"); ok {
			t.Errorf("fastDecode(%q) took it, want it left to the reference decoder:\n%s", src, dump(n))
		}
	}
}

// FuzzFastDecode checks the fast decoder against the reference: what it
// takes, the reference takes, with the same values and lines.
func FuzzFastDecode(f *testing.F) {
	for _, src := range append(fastDecodeCases, fastDecodeRejects...) {
		f.Add(src)
	}
	for _, src := range goldenInputs(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		fast, ok := fastDecode(src, "f")
		if !ok {
			return
		}
		slow, diag := slowDecode("u", "f", src)
		if diag != nil {
			t.Fatalf("fastDecode(%q) took what the reference refuses: %v", src, diag)
		}
		if a, b := dump(slow), dump(fast); a != b {
			t.Fatalf("fastDecode(%q) differs from the reference:\n%s", src, cmp.Diff(a, b))
		}
	})
}

// goldenInputs returns the definition files of the golden cases, as
// seeds.
func goldenInputs(f *testing.F) []string {
	var inputs []string
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, af := range ar.Files {
			if strings.HasSuffix(af.Name, ".toml") {
				inputs = append(inputs, string(af.Data))
			}
		}
	}
	return inputs
}
