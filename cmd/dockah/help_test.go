package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasExamples keeps --help and the man pages useful: every
// command a user can run says what it is for and shows how.
func TestEveryCommandHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" || c.Example == "" {
			t.Errorf("%q has no Short or no Example", c.CommandPath())
		}
		for _, line := range strings.Split(c.Example, "\n") {
			if !strings.HasPrefix(line, "  dockah ") && !strings.HasPrefix(line, "  docker ") && !strings.HasPrefix(line, "  echo ") && !strings.HasPrefix(line, "  man ") {
				t.Errorf("%q: example line %q does not run dockah (indent two spaces)", c.CommandPath(), line)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand())
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_dockah", "zsh": "#compdef dockah", "fish": "complete -c dockah"} {
		out, _, err := dockah(t, "completion", shell)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("completion %s: %v, output lacks %q", shell, err, want)
		}
	}
}

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := dockah(t, "man", dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"dockah.1", "dockah-ps.1", "dockah-exec.1", "dockah-image-import.1", "dockah-enable.1"} {
		data, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.Contains(string(data), ".SH EXAMPLE") || !strings.Contains(string(data), ".TH \"DOCKAH\" \"1\"") {
			t.Errorf("%s lacks the header or the examples:\n%.400s", page, data)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "dockah-man.1")); err == nil {
		t.Error("the hidden man command has a page of its own")
	}
	if out, _, _ := dockah(t, "--help"); strings.Contains(out, "\n  man ") {
		t.Errorf("man is listed in --help:\n%s", out)
	}
}
