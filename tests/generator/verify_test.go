package generator

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/box"
)

// TestExamplesVerify runs the box's own systemd-analyze verify on the
// units the generator makes of every example definition in contrib/units,
// and fails on anything it says. unitgen verifies its golden units with
// the host's systemd; a later systemd may read the same lines otherwise
// (a directive renamed, deprecated or checked more strictly), so each box
// checks them with its own.
func TestExamplesVerify(t *testing.T) {
	b := box.Shared(t)
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob(filepath.Join(project, "contrib/units/*.toml"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no example definitions in contrib/units: %v", err)
	}
	files := map[string]string{}
	var names []string
	for _, e := range examples {
		data, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(e)] = string(data)
		names = append(names, strings.TrimSuffix(filepath.Base(e), ".toml"))
	}
	define(t, b, files)
	t.Cleanup(func() {
		for name := range files {
			_ = os.Remove(b.Path(containers + name))
		}
		_, _ = b.Systemctl("daemon-reload")
	})
	out, err := b.Run("ls", "/run/systemd/generator")
	if err != nil {
		t.Fatal(err)
	}
	var units []string
	for _, f := range strings.Fields(out) {
		name := strings.TrimSuffix(strings.TrimSuffix(f, ".service"), ".socket")
		if name == f || !slices.Contains(names, name) {
			continue
		}
		// A template is verified as an instance, numeric as ports made
		// with %i need.
		units = append(units, "/run/systemd/generator/"+strings.Replace(f, "@.", "@1.", 1))
	}
	if len(units) < len(names) {
		t.Fatalf("the generator made %d units of %d example definitions:\n%s", len(units), len(names), out)
	}
	report, err := b.Run(append([]string{"systemd-analyze", "verify", "--man=no"}, units...)...)
	if err != nil || strings.TrimSpace(report) != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", strings.Join(units, " "), err, report)
	}
}
