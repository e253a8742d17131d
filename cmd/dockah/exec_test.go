package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExecFlagsStopAtName(t *testing.T) {
	cmd := newExecCommand(&globalOptions{})
	if err := cmd.ParseFlags([]string{"-it", "-u", "web:web", "-e", "A=1", "-w", "/tmp", "web", "sh", "-c", "ls -l", "-u", "x"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"web", "sh", "-c", "ls -l", "-u", "x"}
	if diff := cmp.Diff(want, cmd.Flags().Args()); diff != "" {
		t.Errorf("arguments (-want +got):\n%s", diff)
	}
	for flag, want := range map[string]string{"interactive": "true", "tty": "true", "user": "web:web", "workdir": "/tmp", "env": "[A=1]"} {
		if got := cmd.Flag(flag).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}
}

func TestExecEnv(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == "HOME" {
			return "/root", true
		}
		return "", false
	}
	got, err := execEnv([]string{"A=1", "B=x=y", "HOME", "C="}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A=1", "B=x=y", "HOME=/root", "C="}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"=1", "NOPE", "A B=1"} {
		if _, err := execEnv([]string{bad}, lookup); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestExecNeedsCommand(t *testing.T) {
	if _, _, err := dockah(t, "exec", "web"); err == nil || !strings.Contains(err.Error(), "requires at least 2 arg") {
		t.Errorf("exec without a command: %v", err)
	}
}
