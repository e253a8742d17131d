package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLogUnits(t *testing.T) {
	root := sysroot(t, map[string]string{
		"web.toml":              goodDefinition,
		"db@.toml":              "[container]\nimage = \"postgres\"\n\n[[socket]]\nlisten = \"5432\"\n\n[[socket]]\nlisten = \"9187\"\nname = \"metrics\"\n",
		"worker.toml":           "[container]\nimage = \"worker\"\n",
		"broken.toml":           badDefinition,
		"masked.toml":           "",
		"web2@x.toml":           "",
		"plain@.toml":           "[container]\nimage = \"x\"\n",
		"never.toml":            "[container]\nimage = \"x\"\npull = \"never\"\n",
		"other.txt":             "not a definition",
		"unused.toml.d/10.toml": "",
	})
	for name, want := range map[string][]string{
		"web":     {"web.service", "web.socket", "dockah-pull@web.service"},
		"worker":  {"worker.service", "dockah-pull@worker.service"},
		"db@blue": {"db@blue.service", "db@blue.socket", "db-metrics@blue.socket", "dockah-pull@db@blue.service"},
		"db@":     {"db@*.service", "db@*.socket", "db-metrics@*.socket", "dockah-pull@db@*.service"},
		"gone":    {"gone.service"},
		"broken":  {"broken.service"},
		"masked":  {"masked.service"},
		"plain@":  {"plain@*.service", "dockah-pull@plain@*.service"},
		"never":   {"never.service"},
	} {
		got, err := logUnits(root, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if _, err := logUnits(root, "../etc"); err == nil {
		t.Error("a path is not a container name")
	}
}

func TestJournalctlArgs(t *testing.T) {
	got := journalctlArgs([]string{"web.service", "web.socket"}, &logsOptions{follow: true, lines: 20, since: "-1h", until: "now", output: "json", noPager: true})
	want := []string{"journalctl", "--unit=web.service", "--unit=web.socket", "--follow", "--lines=20", "--since=-1h", "--until=now", "--output=json", "--no-pager"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := journalctlArgs([]string{"web.service"}, &logsOptions{lines: -1}); strings.Join(got, " ") != "journalctl --unit=web.service" {
		t.Errorf("defaults: %v", got)
	}
}

func TestLogsFlags(t *testing.T) {
	cmd := newLogsCommand(nil)
	if err := cmd.ParseFlags([]string{"-f", "-n", "5", "--since", "2024-05-01 10:00", "web"}); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"follow": "true", "lines": "5", "since": "2024-05-01 10:00"} {
		if got := cmd.Flag(flag).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}
	if _, _, err := dockah(t, "logs", "-n", "x", "web"); err == nil {
		t.Error("-n x: want an error")
	}
}
