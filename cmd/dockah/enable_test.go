package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/unitgen"
)

const (
	workerDefinition = "[container]\nimage = \"worker\"\n"
	// webDefinition has sockets and no wanted_by.
	webDefinition = "[container]\nimage = \"web\"\n\n[[socket]]\nlisten = \"8080\"\n"
)

func TestEnable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		files    map[string]string
		args     []string // after "enable"
		wantedBy []string
		dropIn   string // its wanted_by line; "" when there is none
		links    []string
	}{{
		name:     "without sockets: the service in multi-user.target",
		files:    map[string]string{"worker.toml": workerDefinition},
		args:     []string{"worker"},
		wantedBy: []string{"multi-user.target"},
		dropIn:   `wanted_by = ["multi-user.target"]`,
		links:    []string{"multi-user.target.wants/worker.service -> ../worker.service"},
	}, {
		name:     "with sockets: the sockets in sockets.target, not the service",
		files:    map[string]string{"web.toml": webDefinition},
		args:     []string{"web"},
		wantedBy: []string{"sockets.target"},
		dropIn:   `wanted_by = ["sockets.target"]`,
		links:    []string{"sockets.target.wants/web.socket -> ../web.socket"},
	}, {
		name:     "with sockets: every socket unit",
		files:    map[string]string{"web.toml": webDefinition + "\n[[socket]]\nlisten = \"8081\"\nname = \"admin\"\n"},
		args:     []string{"web"},
		wantedBy: []string{"sockets.target"},
		dropIn:   `wanted_by = ["sockets.target"]`,
		links:    []string{"sockets.target.wants/web-admin.socket -> ../web-admin.socket", "sockets.target.wants/web.socket -> ../web.socket"},
	}, {
		name:     "an instance of a template with sockets",
		files:    map[string]string{"web@.toml": webDefinition},
		args:     []string{"web@blue"},
		wantedBy: []string{"sockets.target"},
		dropIn:   `wanted_by = ["sockets.target"]`,
		links:    []string{"sockets.target.wants/web@blue.socket -> ../web@blue.socket"},
	}, {
		name:     "the definition's wanted_by is kept",
		files:    map[string]string{"web.toml": webDefinition + "\n[service]\nwanted_by = [\"multi-user.target\"]\n"},
		args:     []string{"web"},
		wantedBy: []string{"multi-user.target"},
		links:    []string{"multi-user.target.wants/web.socket -> ../web.socket"},
	}, {
		name: "the definition's wanted_by comes back after a disable",
		files: map[string]string{
			"web.toml":                   webDefinition + "\n[service]\nwanted_by = [\"multi-user.target\"]\n",
			"web.toml.d/" + enableDropIn: "[service]\nwanted_by = []\n",
		},
		args:     []string{"web"},
		wantedBy: []string{"multi-user.target"},
		links:    []string{"multi-user.target.wants/web.socket -> ../web.socket"},
	}, {
		name: "an earlier enable is kept",
		files: map[string]string{
			"web.toml":                   webDefinition,
			"web.toml.d/" + enableDropIn: "[service]\nwanted_by = [\"graphical.target\"]\n",
		},
		args:     []string{"web"},
		wantedBy: []string{"graphical.target"},
		dropIn:   `wanted_by = ["graphical.target"]`,
		links:    []string{"graphical.target.wants/web.socket -> ../web.socket"},
	}, {
		name:     "--target adds to the definition's",
		files:    map[string]string{"web.toml": goodDefinition},
		args:     []string{"--target", "graphical.target", "web"},
		wantedBy: []string{"sockets.target", "graphical.target"},
		dropIn:   `wanted_by = ["sockets.target", "graphical.target"]`,
		links:    []string{"graphical.target.wants/web.socket -> ../web.socket", "sockets.target.wants/web.socket -> ../web.socket"},
	}, {
		name:     "--target instead of the default",
		files:    map[string]string{"web.toml": webDefinition},
		args:     []string{"--target", "multi-user.target", "web"},
		wantedBy: []string{"multi-user.target"},
		dropIn:   `wanted_by = ["multi-user.target"]`,
		links:    []string{"multi-user.target.wants/web.socket -> ../web.socket"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			root := sysroot(t, tc.files)
			name := tc.args[len(tc.args)-1]
			args := append([]string{"enable", "--sysroot", root, "--no-reload"}, tc.args...)
			for range 2 { // enabling twice changes nothing
				if _, _, err := dockah(t, args...); err != nil {
					t.Fatal(err)
				}
			}
			def, err := setStartAtBoot(root, name, "", true) // as the command left it
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantedBy, def.Service.WantedBy); diff != "" {
				t.Errorf("wanted_by (-want +got):\n%s", diff)
			}
			data, err := os.ReadFile(filepath.Join(root, "etc/dockah/containers", name+".toml.d", enableDropIn))
			switch {
			case tc.dropIn == "" && !os.IsNotExist(err):
				t.Errorf("a drop-in the definition makes useless: %v\n%s", err, data)
			case tc.dropIn != "" && !strings.Contains(string(data), "\n[service]\n"+tc.dropIn+"\n"):
				t.Errorf("drop-in, want %s: %v\n%s", tc.dropIn, err, data)
			}
			if diff := cmp.Diff(tc.links, generatedLinks(t, root)); diff != "" {
				t.Errorf("links the generator makes (-want +got):\n%s", diff)
			}
		})
	}
}

// generatedLinks are the .wants/ links "dockah generate" makes of the
// definitions below root, sorted, as "LINK -> TARGET".
func generatedLinks(t *testing.T, root string) []string {
	t.Helper()
	out, stderr, err := dockah(t, "generate", "--sysroot", root, "--dry-run")
	if err != nil || stderr != "" {
		t.Fatalf("generate: %v\n%s", err, stderr)
	}
	var links []string
	for _, line := range strings.Split(out, "\n") {
		if link, ok := strings.CutPrefix(line, "# "); ok && strings.Contains(link, ".wants/") {
			links = append(links, link)
		}
	}
	slices.Sort(links)
	return links
}

func TestEnableThenDisable(t *testing.T) {
	root := sysroot(t, map[string]string{"worker.toml": workerDefinition})
	dropIn := filepath.Join(root, "etc/dockah/containers/worker.toml.d", enableDropIn)
	if _, _, err := dockah(t, "enable", "--sysroot", root, "--no-reload", "worker"); err != nil {
		t.Fatal(err)
	}
	def, err := setStartAtBoot(root, "worker", "sockets.target", true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"multi-user.target", "sockets.target"}, def.Service.WantedBy); diff != "" {
		t.Errorf("enabled for two targets (-want +got):\n%s", diff)
	}
	if _, _, err := dockah(t, "disable", "--sysroot", root, "--no-reload", "worker"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dropIn); !os.IsNotExist(err) {
		t.Errorf("disable left the drop-in: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dropIn)); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestBootUnits(t *testing.T) {
	for _, tc := range []struct {
		name, definition string
		start, stop      []string
	}{
		{"without sockets", workerDefinition, []string{"c.service"}, []string{"c.service"}},
		{"with sockets", webDefinition, []string{"c.socket"}, []string{"c.service", "c.socket"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := sysroot(t, map[string]string{"c.toml": tc.definition})
			def, err := unitgen.LoadUnit(os.DirFS(root), "c")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.start, bootUnits(def, true)); diff != "" {
				t.Errorf("enable --now starts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.stop, bootUnits(def, false)); diff != "" {
				t.Errorf("disable --now stops (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDisableOverridesDefinition(t *testing.T) {
	root := sysroot(t, map[string]string{"web.toml": goodDefinition}) // wanted_by = ["sockets.target"]
	dropIn := filepath.Join(root, "etc/dockah/containers/web.toml.d", enableDropIn)
	def, err := setStartAtBoot(root, "web", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(def.Service.WantedBy) != 0 {
		t.Errorf("still wanted by %v", def.Service.WantedBy)
	}
	if data, _ := os.ReadFile(dropIn); !strings.Contains(string(data), "wanted_by = []") {
		t.Errorf("drop-in:\n%s", data)
	}
	// Enabling for the definition's own target needs no drop-in.
	if _, err := setStartAtBoot(root, "web", "sockets.target", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dropIn); !os.IsNotExist(err) {
		t.Errorf("enable kept a drop-in the definition makes useless: %v", err)
	}
}

func TestEnableRefusesWhatWouldNotHold(t *testing.T) {
	root := sysroot(t, map[string]string{
		"web.toml":                 goodDefinition,
		"web.toml.d/90-local.toml": "[service]\nwanted_by = [\"sockets.target\"]\n",
	})
	_, err := setStartAtBoot(root, "web", "", false)
	if err == nil || !strings.Contains(err.Error(), "90-local.toml") {
		t.Errorf("a later drop-in overriding ours: %v", err)
	}
	for _, target := range []string{"multi user", "../x.target"} {
		if _, err := setStartAtBoot(root, "web", target, true); err == nil {
			t.Errorf("target %q: want an error", target)
		}
	}
	if _, _, err := dockah(t, "enable", "--sysroot", root, "--no-reload", "--target", "", "web"); err == nil {
		t.Error(`--target "": want an error`)
	}
	if _, _, err := dockah(t, "enable", "--sysroot", root, "--no-reload", "nosuch"); err == nil {
		t.Error("enable of an undefined container: want an error")
	}
}
