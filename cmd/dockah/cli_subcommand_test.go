package main

import (
	"strings"
	"testing"
)

// TestUnknownCommands checks that a command that only groups others fails
// with exit status 1, naming the command it does not know and the ones it
// has, instead of printing its help and succeeding.
func TestUnknownCommands(t *testing.T) {
	tests := []struct {
		args []string
		want []string // in the error
	}{
		{[]string{"image", "pull-foo"}, []string{`unknown command "pull-foo" for "dockah image"`, "(valid: audit, import, inspect, ls, packages, prune, pull, push, rm, save, tag, which)"}},
		{[]string{"image", "lss"}, []string{`unknown command "lss" for "dockah image"; did you mean "ls"?`}},
		{[]string{"--root", "/nonexistent", "image", "pull-foo", "x"}, []string{`unknown command "pull-foo"`}},
		{[]string{"nosuch"}, []string{`unknown command "nosuch" for "dockah"`, "validate, version)"}},
		{[]string{"image"}, []string{"missing command: dockah image COMMAND (valid: audit, import, ", "see dockah image --help"}},
		{[]string{}, []string{"missing command: dockah COMMAND (valid: ", "image, "}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, _, err := dockah(t, tt.args...)
			if err == nil || exitCode(err) != 1 {
				t.Fatalf("dockah %v = %v, stdout:\n%s\nwant exit status 1", tt.args, err, stdout)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("dockah %v = %q, want %q in it", tt.args, err, want)
				}
			}
			_, valid, _ := strings.Cut(err.Error(), "(valid: ")
			if strings.Contains(valid, "man,") || strings.Contains(valid, "help,") {
				t.Errorf("dockah %v names hidden commands or help: %q", tt.args, err)
			}
		})
	}
}

// TestKnownCommandsStillRun checks that the parents' catch-all leaves
// their subcommands and --help alone.
func TestKnownCommandsStillRun(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"image", "--help"}, {"--help"}, {"help", "image"}} {
		if stdout, _, err := dockah(t, args...); err != nil || stdout == "" {
			t.Errorf("dockah %v = %v, stdout %q", args, err, stdout)
		}
	}
}
