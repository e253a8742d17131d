package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

const module = "github.com/dockah/dockah"

// goPackage is the part of `go list -json` the dependency rules need.
type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// sharedLeaves are small packages of shared types any package may import:
// they import nothing of ours and stay as pure as unitgen, which links
// them.
var sharedLeaves = []string{"internal/tomldiag", "internal/imageconfig"}

// TestDependencyDirection enforces the layering of docs/architecture.md:
// leaves import nothing of ours but the shared leaves (activation included:
// the definition, the store and the policy reach it as a Config), each
// binary imports what its job needs (the generator unitgen alone, the shim
// nothing of the image import and registry code, dockah-stage activation
// alone), and unitgen stays pure. A binary added under cmd/ must get a
// rule here.
func TestDependencyDirection(t *testing.T) {
	testenv.RequireCommand(t, "go")
	pkgs := listPackages(t)
	ours := func(deps []string) []string {
		var found []string
		for _, d := range deps {
			if strings.HasPrefix(d, module+"/") {
				found = append(found, strings.TrimPrefix(d, module+"/"))
			}
		}
		return found
	}
	// What each package and the packages below it may import of ours,
	// directly or not, besides their own tree; anything for the CLI.
	allowed := map[string][]string{
		"unitgen":                nil,
		"rootfs":                 nil,
		"inventory":              {"rootfs"},
		"policy":                 nil,
		"machined":               nil,
		"network":                nil,
		"activation":             nil,
		"activation/confine":     nil,
		"activation/forward":     nil,
		"activation/mountinfo":   nil,
		"cmd/internal/launch":    {"activation", "policy", "rootfs", "unitgen"},
		"cmd/internal/unitwatch": nil,
		"build":                  {"rootfs"},
		"kube":                   {"unitgen", "rootfs"},
		"cmd/dockah-generator":   {"unitgen"},
		"cmd/dockah-activate":    {"activation", "cmd/internal", "machined", "network", "policy", "rootfs", "unitgen"},
		"cmd/dockah-stage":       {"activation"},
		"cmd/dockah":             {anything},
	}
	// Trees the rules above would let in that a package must still not
	// link: the shim's hot path has no image import, archive or
	// registry code (TestShimHotPathIsLean checks the external ones).
	denied := map[string][]string{
		"cmd/dockah-activate": {"rootfs/remote", "rootfs/archive", "rootfs/layer", "build", "inventory"},
		"cmd/internal/launch": {"rootfs/remote", "rootfs/archive", "rootfs/layer", "inventory"},
	}
	for name, allow := range allowed {
		allow = slices.Concat(allow, sharedLeaves)
		for path, p := range pkgs {
			if path != name && !strings.HasPrefix(path, name+"/") {
				continue
			}
			for _, dep := range ours(p.Deps) {
				if permitted(dep, name, allow) && !within(dep, denied[name]) {
					continue
				}
				rule := fmt.Sprintf("allowed: %v", allow)
				if len(denied[name]) > 0 {
					rule += fmt.Sprintf(" but not %v", denied[name])
				}
				t.Errorf("%s imports %s; %s", path, dep, rule)
			}
		}
	}
	for path := range pkgs {
		if strings.HasPrefix(path, "cmd/") && !strings.HasPrefix(path, "cmd/internal/") {
			if _, ok := allowed[path]; !ok {
				t.Errorf("%s has no dependency rule: add what it may import to TestDependencyDirection", path)
			}
		}
	}
	for _, leaf := range sharedLeaves {
		if _, ok := pkgs[leaf]; !ok {
			t.Errorf("the shared leaf %s does not exist", leaf)
		}
		for _, dep := range ours(pkgs[leaf].Deps) {
			t.Errorf("%s imports %s: a shared leaf imports nothing of ours", leaf, dep)
		}
	}
	// Test fixtures stay out of the binaries: only tests and the
	// benchmark programs link them.
	for path, p := range pkgs {
		for _, dep := range ours(p.Deps) {
			if (dep == "internal/deftest" || dep == "rootfs/internal/fixture") && !permitted(path, "bench", []string{"internal/deftest", "rootfs/internal/fixture", "tests"}) {
				t.Errorf("%s links the test fixtures %s", path, dep)
			}
		}
	}
	// The Kubernetes API packages are for the tests that validate what
	// kube generates: no binary links them (kube has types of its own).
	for path, p := range pkgs {
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, "k8s.io/") {
				t.Errorf("%s links %s: only tests may (kube has its own types)", path, dep)
			}
		}
	}
	impure := []string{"os", "os/exec", "syscall", "net", "golang.org/x/sys/unix", "github.com/godbus/dbus/v5"}
	for path, p := range pkgs {
		if !permitted(path, "unitgen", sharedLeaves) && !permitted(path, "kube", nil) {
			continue
		}
		for _, imp := range p.Imports {
			for _, bad := range impure {
				if imp == bad {
					t.Errorf("%s imports %s: unitgen, kube and the shared leaves must stay pure (read files through io/fs)", path, imp)
				}
			}
		}
	}
}

// TestStageBinaryIsLean: built as the Makefile builds it (-tags stage, no
// cgo), dockah-stage links none of the shim's definition, store and policy
// code, which is what makes it start faster than the shim.
func TestStageBinaryIsLean(t *testing.T) {
	testenv.RequireCommand(t, "go")
	cmd := exec.Command("go", "list", "-tags", "stage,netgo,osusergo", "-deps", module+"/cmd/dockah-stage")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, heavy := range []string{module + "/policy", module + "/rootfs", module + "/unitgen", "github.com/seccomp/libseccomp-golang", "github.com/BurntSushi/toml", "github.com/godbus/dbus/v5"} {
			if dep == heavy {
				t.Errorf("dockah-stage links %s", dep)
			}
		}
	}
}

// TestShimHotPathIsLean: dockah-activate, which runs at every container
// start, links no registry client, no image-name regular expressions, no
// archive or compression code, no CLI framework, no build code (BuildKit's
// parser) and no inventory (its rpm database reader and SQLite); pulling,
// building and inventories are the dockah command's. Every package linked
// is initialised at every start, used or not (GODEBUG=inittrace=1 shows
// what each costs): so neither the shim nor dockah-stage links debug/elf,
// which brings DWARF, zlib and zstd with it.
func TestShimHotPathIsLean(t *testing.T) {
	testenv.RequireCommand(t, "go")
	heavy := []string{module + "/rootfs/remote", module + "/rootfs/archive", module + "/rootfs/layer",
		"github.com/google/go-containerregistry", "github.com/distribution/reference", "net/http",
		"github.com/spf13/cobra", "github.com/spf13/pflag", "archive", "compress", "internal/zstd",
		"github.com/klauspost/compress", "debug/elf", "debug/dwarf", "text/template", "encoding/gob",
		module + "/build", "github.com/moby/buildkit", "github.com/moby/patternmatcher",
		module + "/inventory", "github.com/anchore/go-rpmdb", "github.com/glebarez/go-sqlite", "modernc.org/sqlite",
		// go-digest compiles five regular expressions when it is
		// initialised: image configurations are read with
		// internal/imageconfig's types instead.
		"github.com/opencontainers/image-spec", "github.com/opencontainers/go-digest"}
	for _, bin := range []struct{ pkg, tags string }{{"dockah-activate", "netgo,osusergo"}, {"dockah-stage", "stage,netgo,osusergo"}} {
		out, err := exec.Command("go", "list", "-tags", bin.tags, "-deps", module+"/cmd/"+bin.pkg).Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, h := range heavy {
				if dep == h || strings.HasPrefix(dep, h+"/") {
					t.Errorf("%s links %s", bin.pkg, dep)
				}
			}
		}
	}
}

// anything in an allowed list lets a package import every package of ours.
const anything = "*"

// permitted reports whether self may import dep: its own tree, or one of
// the trees allow names.
func permitted(dep, self string, allow []string) bool {
	return within(dep, append([]string{self}, allow...))
}

// within reports whether pkg is in one of the trees (a package and the
// packages below it).
func within(pkg string, trees []string) bool {
	for _, tree := range trees {
		if tree == anything || pkg == tree || strings.HasPrefix(pkg, tree+"/") {
			return true
		}
	}
	return false
}

func listPackages(t *testing.T) map[string]goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]goPackage{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module+"/")] = p
	}
	return pkgs
}
