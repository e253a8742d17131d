package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/unitgen"
)

// TestREADMEStaysTrue checks what the README promises: its two commands
// are the ones CI runs, and its example definition loads.
func TestREADMEStaysTrue(t *testing.T) {
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(project, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(filepath.Join(project, ".ci/run"))
	if err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile("(?s)```sh\n(.*?)```").FindSubmatch(readme)
	if first == nil || !strings.HasPrefix(string(first[1]), "make deps demo") || !strings.Contains(string(first[1]), "\nmake deps test") {
		t.Fatalf("the README must start with the commands \"make deps demo\" and \"make deps test\"")
	}
	if !strings.Contains(string(ci), "DOCKAH_TEST_STRICT=1 make deps test") {
		t.Errorf(".ci/run does not run the README's test command in strict mode")
	}
	example := regexp.MustCompile("(?s)```toml\n(.*?)```").FindSubmatch(readme)
	if example == nil {
		t.Fatal("the README has no example definition")
	}
	if _, err := unitgen.Parse("web", unitgen.File{Path: "README.md", Data: example[1]}); err != nil {
		t.Errorf("the README's example definition does not load: %v", err)
	}
}
