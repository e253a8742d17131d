package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/unitgen"
)

// TestDocsExamplesLoad: every TOML example of the README and docs/ is a
// definition, or a drop-in, that the loader takes, so that no example
// drifts from the schema. (The README's definition is also run, in
// tests/services; docs/cli.md's dockah run lines in tests/run.)
func TestDocsExamplesLoad(t *testing.T) {
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(project, "docs", "*.md"))
	files = append(files, filepath.Join(project, "README.md"))
	block := regexp.MustCompile("(?s)```toml\n(.*?)```")
	checked := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllSubmatchIndex(data, -1) {
			example := data[m[2]:m[3]]
			line := 1 + strings.Count(string(data[:m[2]]), "\n")
			where := filepath.Base(file) + ":" + itoa(line)
			checked++
			if _, err := unitgen.Parse("web", unitgen.File{Path: where, Data: example}); err == nil {
				continue
			}
			// A drop-in: on a definition that has an image and a
			// forwarded socket, or on a template.
			base := []byte("[container]\nimage = \"example:1\"\n\n[[socket]]\nlisten = \"8080\"\nport = 80\n")
			fsys := fstest.MapFS{
				"etc/dockah/containers/web.toml":               {Data: base},
				"etc/dockah/containers/web.toml.d/50-ex.toml":  {Data: example},
				"etc/dockah/containers/tpl@.toml":              {Data: base},
				"etc/dockah/containers/tpl@.toml.d/50-ex.toml": {Data: example},
			}
			_, err := unitgen.LoadUnit(fsys, "web")
			if err != nil {
				if _, terr := unitgen.LoadUnit(fsys, "tpl@1"); terr == nil {
					continue
				}
				t.Errorf("%s: the example is neither a definition nor a drop-in the loader takes: %v", where, err)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d TOML examples found in the README and docs/", checked)
	}
}

func itoa(n int) string {
	var b []byte
	for ; n > 0 || len(b) == 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
