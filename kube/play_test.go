package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testPlayOptions = PlayOptions{ContainersDir: "/run/dockah/containers", NetworksDir: "/run/dockah/networks", DataDir: "/run/dockah/kube"}

// planText is a plan as the golden files show it.
func planText(p *Plan) string {
	var b strings.Builder
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", w)
	}
	for _, n := range p.Networks {
		fmt.Fprintf(&b, "=== %s (network %s)\n%s", n.Path, n.Name, n.Data)
	}
	for _, c := range p.Containers {
		fmt.Fprintf(&b, "=== %s (Pod %s)\n%s", c.Path, c.Pod, c.Data)
	}
	for _, f := range p.Files {
		fmt.Fprintf(&b, "=== %s (mode %#o)\n%s\n", f.Path, f.Mode, f.Data)
	}
	fmt.Fprintf(&b, "=== directories: %s; made: %s\n", strings.Join(p.Dirs, " "), strings.Join(p.Mkdirs, " "))
	return b.String()
}

// TestPlayGolden: each testdata/play/*.yaml, planned, is its .txt.
func TestPlayGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/play/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/play/*.yaml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs, warnings, err := Parse(filepath.Base(f), data)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := Play(objs, testPlayOptions)
			if err != nil {
				t.Fatal(err)
			}
			plan.Warnings = append(warnings, plan.Warnings...)
			golden(t, "play/"+strings.TrimSuffix(filepath.Base(f), ".yaml")+".txt", []byte(planText(plan)))
		})
	}
}
