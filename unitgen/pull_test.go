package unitgen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

func TestPullPolicyString(t *testing.T) {
	for p, want := range map[PullPolicy]string{"": "missing", PullMissing: "missing", PullAlways: "always", PullNewer: "newer", PullNever: "never"} {
		if got := p.String(); got != want {
			t.Errorf("PullPolicy(%q).String() = %q, want %q", string(p), got, want)
		}
	}
}

// TestPullUnitNamesTheContainer checks every golden service: one whose
// definition pulls requires and starts after the pull unit, whose instance
// is the very word the shim gets as the container's name (systemd expands
// %i in both alike), and one that never pulls has no pull unit.
func TestPullUnitNamesTheContainer(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	seen := map[PullPolicy]bool{}
	for _, file := range files {
		gc := readGolden(t, file)
		out, _ := Generate(gc.fsys, Options{ShimPath: goldenShim})
		defs, _ := LoadAll(gc.fsys)
		byUnit := map[string]*Definition{}
		for _, d := range defs {
			byUnit[d.ServiceUnit()] = d
		}
		for _, u := range out.Units {
			d := byUnit[u.Name]
			if d == nil {
				continue // a socket, or the failing unit of a bad definition
			}
			lines := strings.Split(u.Text, "\n")
			shimArg := ""
			for _, l := range lines {
				if rest, ok := strings.CutPrefix(l, "ExecStart="+goldenShim+" "); ok {
					// The word as systemd hands it to the shim,
					// specifiers still unexpanded, as in After=.
					words, err := splitWords(rest)
					if err != nil || len(words) != 1 {
						t.Fatalf("%s: %s: ExecStart= arguments %q: %v", file, u.Name, rest, err)
					}
					shimArg = words[0]
				}
			}
			if shimArg == "" {
				continue // the failing unit of a definition whose units collide
			}
			seen[d.Container.Pull] = true
			var pulls []string
			for _, l := range lines {
				for _, key := range []string{"After=", "Requires="} {
					if rest, ok := strings.CutPrefix(l, key); ok && strings.HasPrefix(rest, "dockah-pull@") {
						pulls = append(pulls, key+rest)
					}
				}
			}
			if d.Container.Pull == PullNever {
				if len(pulls) > 0 {
					t.Errorf("%s: %s pulls never, but has %q", file, u.Name, pulls)
				}
				continue
			}
			want := "dockah-pull@" + shimArg + ".service"
			if !slices.Equal(pulls, []string{"After=" + want, "Requires=" + want}) {
				t.Errorf("%s: %s runs the shim for %q and has %q, want After= and Requires= on %s", file, u.Name, shimArg, pulls, want)
			}
			if want != d.PullUnit() {
				t.Errorf("%s: PullUnit() = %q, the unit has %q", file, d.PullUnit(), want)
			}
		}
	}
	for _, p := range []PullPolicy{PullMissing, PullAlways, PullNewer, PullNever} {
		if !seen[p] {
			t.Errorf("no golden case has pull = %q", p)
		}
	}
}

// readPullTemplate returns the directives of contrib/units'
// dockah-pull@.service as "Section.Key" -> values.
func readPullTemplate(t *testing.T) (string, map[string][]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(contribUnits, PullTemplate))
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string][]string{}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "", strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not a directive: %q", PullTemplate, line)
			}
			dirs[section+"."+k] = append(dirs[section+"."+k], v)
		}
	}
	return string(data), dirs
}

// TestPullTemplate checks what the generated services rely on in the
// static template: the CLI gets the container's name as it is, READY=1
// ends the start, 90s without progress kill it, a pull needs the network,
// nothing restarts it, and the sandbox lets it write the store.
func TestPullTemplate(t *testing.T) {
	_, dirs := readPullTemplate(t)
	for key, want := range map[string]string{
		"Unit.Description":        "Pull the image of dockah container %i",
		"Unit.After":              "network-online.target",
		"Unit.Wants":              "network-online.target",
		"Service.Type":            "notify",
		"Service.NotifyAccess":    "main",
		"Service.ExecStart":       "dockah image pull --for-container=%i",
		"Service.RemainAfterExit": "no",
		"Service.TimeoutStartSec": "90s",
		"Service.ProtectSystem":   "strict",
		"Service.ReadWritePaths":  "-" + StoreDir,
	} {
		if got := dirs[key]; !slices.Equal(got, []string{want}) {
			t.Errorf("%s: %s = %q, want %q", PullTemplate, key, got, want)
		}
	}
	for _, key := range []string{"Service.Restart", "Unit.DefaultDependencies"} {
		if dirs[key] != nil {
			t.Errorf("%s sets %s", PullTemplate, key)
		}
	}
}

// TestPullTemplateVerify runs systemd-analyze verify on an instance of the
// template, with a stand-in for the dockah binary (verify wants every
// command to exist).
func TestPullTemplateVerify(t *testing.T) {
	testenv.RequireCommand(t, "systemd-analyze")
	text, _ := readPullTemplate(t)
	text = strings.Replace(text, "ExecStart=dockah ", "ExecStart="+fakeShim(t)+" ", 1)
	out, err := runVerify(t, []Unit{{Name: "dockah-pull@web@blue.service", Text: text}})
	if err != nil || out != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", PullTemplate, err, out)
	}
}
