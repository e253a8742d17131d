package unitgen

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected output (want/*) of testdata/*.txtar")

// goldenShim is the shim path of the golden units.
const goldenShim = "/usr/libexec/dockah/dockah-activate"

// A golden case is a txtar archive: the files of the definitions, by their
// path below / (a name "PATH -> TARGET" makes a symbolic link), then the
// expected output: want/UNIT for each unit, want/links for the links and
// want/errors for the problems, one per line.

// goldenCase is a parsed archive.
type goldenCase struct {
	archive *txtar.Archive
	fsys    fstest.MapFS
	want    map[string]string
}

func readGolden(t *testing.T, file string) goldenCase {
	t.Helper()
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	gc := goldenCase{archive: ar, fsys: fstest.MapFS{}, want: map[string]string{}}
	for _, f := range ar.Files {
		if strings.HasPrefix(f.Name, "want/") {
			gc.want[f.Name] = string(f.Data)
			continue
		}
		if name, target, ok := strings.Cut(f.Name, " -> "); ok {
			gc.fsys[name] = &fstest.MapFile{Data: []byte(target), Mode: os.ModeSymlink}
			continue
		}
		gc.fsys[f.Name] = &fstest.MapFile{Data: f.Data}
	}
	return gc
}

// generateText runs Generate and returns its output as want/ sections.
func generateText(t *testing.T, fsys fstest.MapFS, shim string) map[string]string {
	t.Helper()
	out, err := Generate(fsys, Options{ShimPath: shim})
	if out == nil {
		t.Fatalf("Generate: %v", err)
	}
	got := map[string]string{}
	for _, u := range out.Units {
		got["want/"+u.Name] = u.Text
	}
	var links strings.Builder
	for _, l := range out.Links {
		links.WriteString(l.Path + " -> " + l.Target + "\n")
	}
	if links.Len() > 0 {
		got["want/links"] = links.String()
	}
	if err != nil {
		got["want/errors"] = errorLines(err)
	}
	// The definitions themselves, as the shim will see them.
	defs, _ := LoadAll(fsys)
	for _, d := range defs {
		data, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got["want/"+d.Name+".json"] = string(data) + "\n"
	}
	return got
}

// errorLines formats every problem of err on a line of its own.
func errorLines(err error) string {
	var b strings.Builder
	diags := Diagnostics(err)
	for _, d := range diags {
		b.WriteString(d.Error() + "\n")
	}
	if len(diags) == 0 {
		b.WriteString(err.Error() + "\n")
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			gc := readGolden(t, file)
			got := generateText(t, gc.fsys, goldenShim)
			if again := generateText(t, gc.fsys, goldenShim); !cmp.Equal(got, again) {
				t.Errorf("two runs differ (-first +second):\n%s", cmp.Diff(got, again))
			}
			if *update {
				writeGolden(t, file, gc, got)
				return
			}
			if diff := cmp.Diff(gc.want, got); diff != "" {
				t.Errorf("output differs from %s (-want +got), rerun with -update if intended:\n%s", file, diff)
			}
			checkLoadUnit(t, gc.fsys)
		})
	}
}

// writeGolden rewrites the want/ sections of an archive.
func writeGolden(t *testing.T, file string, gc goldenCase, got map[string]string) {
	t.Helper()
	ar := &txtar.Archive{Comment: gc.archive.Comment}
	for _, f := range gc.archive.Files {
		if !strings.HasPrefix(f.Name, "want/") {
			ar.Files = append(ar.Files, f)
		}
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ar.Files = append(ar.Files, txtar.File{Name: n, Data: []byte(got[n])})
	}
	if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkLoadUnit checks that the shim's loader, which reads one unit's
// files only, agrees with the generator's: the same definitions, the same
// problems.
func checkLoadUnit(t *testing.T, fsys fstest.MapFS) {
	t.Helper()
	r := loadAll(fsys)
	for _, want := range r.defs {
		if want.IsTemplate() {
			continue
		}
		got, err := LoadUnit(fsys, want.Name)
		if err != nil {
			t.Errorf("LoadUnit(%s): %v", want.Name, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("LoadUnit(%s) differs from LoadAll (-LoadAll +LoadUnit):\n%s", want.Name, diff)
		}
	}
	for _, f := range r.failed {
		if strings.HasSuffix(f.unit, "@") || checkName(f.unit) != "" {
			continue
		}
		_, err := LoadUnit(fsys, f.unit)
		if want := errorLines(errors.Join(f.problems...)); err == nil || errorLines(err) != want {
			t.Errorf("LoadUnit(%s) = %v, want the problems\n%s", f.unit, err, want)
		}
	}
	for _, unit := range r.masked {
		if _, err := LoadUnit(fsys, unit); !errors.Is(err, ErrMasked) {
			t.Errorf("LoadUnit(%s) = %v, want ErrMasked", unit, err)
		}
	}
}
