package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/policy"
)

// subIDFiles points the CLI (and launch) at two files of a temporary
// directory, with the given contents ("" for no file).
func subIDFiles(t *testing.T, uid, gid string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	u, g := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	for p, data := range map[string]string{u: uid, g: gid} {
		if data != "" {
			if err := os.WriteFile(p, []byte(data), 0o640); err != nil {
				t.Fatal(err)
			}
		}
	}
	oldU, oldG := launch.SubUIDFile, launch.SubGIDFile
	launch.SubUIDFile, launch.SubGIDFile = u, g
	t.Cleanup(func() { launch.SubUIDFile, launch.SubGIDFile = oldU, oldG })
	return u, g
}

// TestSystemSubids: the entry is added where missing, existing lines kept
// byte for byte, the mode kept; it is the pool the shim used before; a
// second run changes nothing.
func TestSystemSubids(t *testing.T) {
	const users = "# users\nalice:100000:65536\nzed:600000:65536" // no final newline
	u, g := subIDFiles(t, users, "")
	before, err := launch.IDPools()
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := dockah(t, "system", "subids")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	def := policy.DefaultIDPool[0]
	wantU := "containers:665536:" + strconv.FormatUint(uint64(def.Start)+uint64(def.Size)-665536, 10)
	wantG := "containers:524288:" + strconv.FormatUint(uint64(def.Size), 10)
	if !strings.Contains(out, u+": "+wantU+" (added)") || !strings.Contains(out, g+": "+wantG+" (added)") {
		t.Errorf("output:\n%s", out)
	}
	data, _ := os.ReadFile(u)
	if string(data) != users+"\n"+wantU+"\n" {
		t.Errorf("%s:\n%s", u, data)
	}
	if data, _ := os.ReadFile(g); string(data) != wantG+"\n" {
		t.Errorf("%s:\n%s", g, data)
	}
	if st, err := os.Stat(u); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode of %s: %v %v, want 0640 kept", u, st.Mode(), err)
	}
	after, err := launch.IDPools()
	if err != nil {
		t.Fatal(err)
	}
	if len(after.UID) != 1 || len(before.UID) != 1 || after.UID[0] != before.UID[0] || after.GID[0] != before.GID[0] {
		t.Errorf("pools before %v, after %v: the entry must be the pool the shim used", before, after)
	}
	out, _, err = dockah(t, "system", "subids")
	if err != nil || !strings.Contains(out, wantU+" (present)") {
		t.Errorf("second run: %v:\n%s", err, out)
	}
	if again, _ := os.ReadFile(u); string(again) != users+"\n"+wantU+"\n" {
		t.Errorf("second run changed %s:\n%s", u, again)
	}
}

// TestSystemSubidsLock: a lock of shadow's tools held by a live process
// stops the write; one left by a dead process is taken over.
func TestSystemSubidsLock(t *testing.T) {
	u, _ := subIDFiles(t, "alice:100000:65536\n", "containers:524288:65536\n")
	if err := os.WriteFile(u+".lock", []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := dockah(t, "system", "subids")
	if err == nil || !strings.Contains(err.Error(), "is locked by process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("with a live lock: %v", err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(u+".lock", []byte(strconv.Itoa(dead.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := dockah(t, "system", "subids"); err != nil {
		t.Fatalf("with a stale lock: %v %s", err, stderr)
	}
	if _, err := os.Stat(u + ".lock"); !os.IsNotExist(err) {
		t.Errorf("the lock is left: %v", err)
	}
	if data, _ := os.ReadFile(u); !strings.Contains(string(data), "containers:") {
		t.Errorf("no entry written:\n%s", data)
	}
}
