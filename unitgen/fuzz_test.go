package unitgen

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/internal/deftest"
)

// FuzzParse feeds any main file and drop-in to the loader: it must not
// panic or hang; a definition it accepts must render, and the units must
// be well-formed lines (no stray line breaks, no continuation backslash);
// a definition it refuses must say why with diagnostics.
func FuzzParse(f *testing.F) {
	inputs := goldenInputs(f)
	for i, src := range inputs {
		f.Add(src, inputs[(i+1)%len(inputs)])
	}
	f.Add(deftest.New("x").Table("[[socket]]", `listen = "/run/%i.sock"`).String(), deftest.DropIn().Table("[service]", `wanted_by=["a.target"]`).String())
	f.Add(deftest.New("x").String(), "socket = []\n")
	f.Fuzz(func(t *testing.T, main, dropIn string) {
		for _, name := range []string{"web", "web@", "web@blue"} {
			start := time.Now()
			d, err := Parse(name, File{Path: "/m.toml", Data: []byte(main)}, File{Path: "/d.toml", Data: []byte(dropIn)})
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Fatalf("Parse took %s", elapsed)
			}
			if err != nil {
				if len(Diagnostics(err)) == 0 {
					t.Fatalf("Parse failed without diagnostics: %v", err)
				}
				checkUnits(t, mustRenderFailed(t, name, err))
				continue
			}
			out, err := Render(d, Options{ShimPath: goldenShim})
			if err != nil {
				if len(Diagnostics(err)) == 0 {
					t.Fatalf("Render failed without diagnostics: %v", err)
				}
				continue
			}
			checkUnits(t, out)
		}
	})
}

func mustRenderFailed(t *testing.T, name string, err error) *Output {
	t.Helper()
	var problems []error
	for _, d := range Diagnostics(err) {
		problems = append(problems, d)
	}
	out, err := RenderFailed(name, "/m.toml", problems, Options{ShimPath: goldenShim})
	if err != nil {
		t.Fatalf("RenderFailed: %v", err)
	}
	return out
}

// checkUnits checks that every line of every unit is a comment, a section
// header, a Key=Value directive or empty, with no control characters and
// no trailing backslash.
func checkUnits(t *testing.T, out *Output) {
	t.Helper()
	for _, u := range out.Units {
		for _, line := range strings.Split(strings.TrimSuffix(u.Text, "\n"), "\n") {
			switch {
			case hasControl(line):
				t.Fatalf("%s: control character in %q", u.Name, line)
			case strings.HasSuffix(line, `\`):
				t.Fatalf("%s: line ends in a backslash: %q", u.Name, line)
			case line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			case !strings.Contains(line, "=") || !isDirectiveName(line[:strings.IndexByte(line, '=')]):
				t.Fatalf("%s: not a directive: %q", u.Name, line)
			}
		}
	}
	for _, l := range out.Links {
		if strings.Contains(l.Path, "..") || strings.HasPrefix(l.Path, "/") || hasControl(l.Path) {
			t.Fatalf("link path %q leaves the output directory", l.Path)
		}
	}
}

// FuzzParseIDMap: a map it accepts never includes host root nor reaches
// past 2^32-1, and prints back to what it parses.
func FuzzParseIDMap(f *testing.F) {
	f.Add("0 100000 65536")
	f.Add("0 4294901760 65536")
	f.Fuzz(func(t *testing.T, s string) {
		m, msg := ParseIDMap(s)
		if msg != "" {
			return
		}
		if m.Host == 0 || m.Size == 0 || uint64(m.Host)+uint64(m.Size) > 1<<32 {
			t.Fatalf("%q accepted as %+v", s, m)
		}
		if again, msg := ParseIDMap(fmt.Sprintf("0 %d %d", m.Host, m.Size)); msg != "" || again != m {
			t.Fatalf("%+v does not print back: %+v %q", m, again, msg)
		}
	})
}
