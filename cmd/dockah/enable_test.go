package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnableWritesDropIn(t *testing.T) {
	root := sysroot(t, map[string]string{"worker.toml": "[container]\nimage = \"worker\"\n"})
	dropIn := filepath.Join(root, "etc/dockah/containers/worker.toml.d", enableDropIn)
	for range 2 { // enabling twice changes nothing
		if _, _, err := dockah(t, "enable", "--sysroot", root, "--no-reload", "worker"); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(dropIn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "[service]\nwanted_by = [\"multi-user.target\"]\n") {
		t.Errorf("drop-in:\n%s", data)
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
	for _, target := range []string{"multi user", "../x.target", ""} {
		if _, err := setStartAtBoot(root, "web", target, true); err == nil {
			t.Errorf("target %q: want an error", target)
		}
	}
	if _, _, err := dockah(t, "enable", "--sysroot", root, "--no-reload", "nosuch"); err == nil {
		t.Error("enable of an undefined container: want an error")
	}
}
