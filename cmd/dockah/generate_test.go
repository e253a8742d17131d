package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sysroot makes a root with definitions below etc/dockah/containers.
func sysroot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, "etc/dockah/containers", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// dockah runs the command line and returns stdout, stderr and the error.
func dockah(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCommand()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

const goodDefinition = "[container]\nimage = \"library/nginx:1.25\"\n\n[[socket]]\nlisten = \"8080\"\n\n[service]\nwanted_by = [\"sockets.target\"]\n"

const badDefinition = "[container]\nimage = \"library/nginx:1.25\"\n\n[[socket]]\nlisten = \"80800\"\n"

const badProblem = `/etc/dockah/containers/bad.toml:5: socket.listen: "80800" is not a port (accepted: PORT 1-65535, ADDR:PORT, [ADDR]:PORT, or an absolute unix socket path)`

func TestGenerateDryRun(t *testing.T) {
	root := sysroot(t, map[string]string{"web.toml": goodDefinition})
	for _, args := range [][]string{{"--dry-run"}, {}} {
		stdout, stderr, err := dockah(t, append([]string{"generate", "--sysroot", root}, args...)...)
		if err != nil || stderr != "" {
			t.Fatalf("generate %v: %v\n%s", args, err, stderr)
		}
		for _, want := range []string{"# web.service\n", "ExecStart=" + shimPath + " web\n", "# web.socket\n", "ListenStream=8080\n", "# sockets.target.wants/web.socket -> ../web.socket\n"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("generate %v lacks %q:\n%s", args, want, stdout)
			}
		}
	}
}

func TestGenerateDir(t *testing.T) {
	root := sysroot(t, map[string]string{"web.toml": goodDefinition, "bad.toml": badDefinition})
	dir := filepath.Join(t.TempDir(), "units")
	for range 2 { // a second run replaces what the first wrote
		_, stderr, err := dockah(t, "generate", "--sysroot", root, "--dir", dir)
		if err == nil || err.Error() != "1 problem in the definitions" || stderr != badProblem+"\n" {
			t.Fatalf("generate --dir = %v, stderr %q; want the problem", err, stderr)
		}
	}
	for _, name := range []string{"web.service", "web.socket", "bad.service", "sockets.target.wants/web.socket"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

func TestValidate(t *testing.T) {
	root := sysroot(t, map[string]string{
		"web.toml":                  goodDefinition,
		"bad.toml":                  badDefinition,
		"web.toml.d/10-memory.toml": "[resources]\nmemory_max = \"1G\"\n",
		"web.toml.d/20-bad.toml":    "[resources]\nmemory = \"1G\"\n",
	})
	dir := filepath.Join(root, "etc/dockah/containers")
	store := filepath.Join(t.TempDir(), "store") // empty: a warning, not a problem
	stdout, stderr, err := dockah(t, "--root", store, "validate", filepath.Join(dir, "web.toml"), filepath.Join(dir, "web.toml.d/10-memory.toml"))
	warning := "WARNING: web: image library/nginx:1.25 is not in the store (pull = \"missing\": it will be pulled on first start)\n"
	if err != nil || stderr != warning || strings.Count(stdout, ": ok\n") != 2 {
		t.Errorf("validate of good files: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	_, stderr, err = dockah(t, "validate", filepath.Join(dir, "bad.toml"), filepath.Join(dir, "web.toml.d/20-bad.toml"))
	if err == nil || !strings.Contains(stderr, `bad.toml:5: socket.listen: "80800" is not a port`) ||
		!strings.Contains(stderr, `20-bad.toml:2: resources.memory: unknown key; did you mean "memory_max"?`) {
		t.Errorf("validate of bad files = %v, stderr:\n%s", err, stderr)
	}
	_, stderr, err = dockah(t, "validate", "--sysroot", root)
	if err == nil || !strings.Contains(stderr, badProblem) || !strings.Contains(stderr, "/etc/dockah/containers/web.toml.d/20-bad.toml:2: resources.memory") {
		t.Errorf("validate of the search path = %v, stderr:\n%s", err, stderr)
	}
	if _, _, err := dockah(t, "validate", filepath.Join(dir, "missing.toml")); err == nil {
		t.Error("validate of a missing file succeeded")
	}
}
