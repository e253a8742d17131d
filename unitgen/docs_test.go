package unitgen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsNameEveryKey checks that docs/definitions.md documents every key
// of every table, in that table's section.
func TestDocsNameEveryKey(t *testing.T) {
	data, err := os.ReadFile("../docs/definitions.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, table := range []struct {
		heading string
		keys    []string
	}{
		{"### `[container]`", fieldKeys(containerFields)},
		{"### `[[socket]]`", fieldKeys(socketFields)},
		{"### `[[volume]]`", fieldKeys(volumeFields)},
		{"### `[[tmpfs]]`", fieldKeys(tmpfsFields)},
		{"### `[resources]`", fieldKeys(resourceFields)},
		{"### `[security]`", fieldKeys(securityFields)},
		{"### `[service]`", fieldKeys(serviceFields)},
	} {
		start := strings.Index(doc, table.heading)
		if start < 0 {
			t.Errorf("docs/definitions.md has no section %s", table.heading)
			continue
		}
		section := doc[start+len(table.heading):]
		if end := strings.Index(section, "\n### "); end >= 0 {
			section = section[:end]
		}
		for _, k := range table.keys {
			if !strings.Contains(section, "| `"+k+"` |") || !strings.Contains(section, "\n"+k+" = ") {
				t.Errorf("section %s of docs/definitions.md lacks a row or an example for %s", table.heading, k)
			}
		}
	}
}

// TestExamples checks the example definitions that "make install" ships.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../contrib/units/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in contrib/units: %v", err)
	}
	shim, verify := fakeShim(t), true
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		verify = false // TestSystemdVerify says why it skips
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		d, err := Parse(name, File{Path: "/usr/share/dockah/examples/" + filepath.Base(file), Data: data})
		if err != nil {
			t.Errorf("%s:\n%s", file, errorLines(err))
			continue
		}
		out, err := Render(d, Options{ShimPath: shim})
		if err != nil {
			t.Errorf("render %s: %v", file, err)
			continue
		}
		if verify {
			verifyUnits(t, out.Units)
		}
	}
}
