package unitgen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

// TestSystemdVerify runs systemd-analyze verify on the units of every
// golden case and fails on anything it says: a warning about our output is
// a unit that systemd reads differently from what we meant.
func TestSystemdVerify(t *testing.T) {
	testenv.RequireCommand(t, "systemd-analyze")
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	shim := fakeShim(t)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			gc := readGolden(t, file)
			out, _ := Generate(gc.fsys, Options{ShimPath: shim})
			if out == nil || len(out.Units) == 0 {
				t.Skip("this case makes no units")
			}
			verifyUnits(t, out.Units)
		})
	}
}

// fakeShim returns the path of an executable to render units with: verify
// checks that ExecStart= names one.
func fakeShim(t *testing.T) string {
	t.Helper()
	shim := filepath.Join(t.TempDir(), "dockah-activate")
	if err := os.WriteFile(shim, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return shim
}

// TestSystemdVerifyCatches proves that the check above can fail: a unit
// with a value systemd rejects must not pass.
func TestSystemdVerifyCatches(t *testing.T) {
	testenv.RequireCommand(t, "systemd-analyze")
	out, err := runVerify(t, []Unit{{Name: "bad.service", Text: "[Service]\nExecStart=/bin/true\nCPUQuota=50%%\n"}})
	if err == nil && out == "" {
		t.Fatal("systemd-analyze verify said nothing about CPUQuota=50%%")
	}
}

// verifyUnits fails the test when systemd-analyze verify says anything
// about the units.
func verifyUnits(t *testing.T, units []Unit) {
	t.Helper()
	if out, err := runVerify(t, units); err != nil || out != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		for _, u := range units {
			t.Logf("%s:\n%s", u.Name, u.Text)
		}
	}
}

// contribUnits is the directory of the unit files "make install" installs:
// the template dockah-pull@.service that every container's service
// requires is verified as the real file, not a stand-in.
const contribUnits = "../contrib/units"

// runVerify writes units into a directory, with stand-ins for the units
// they depend on, and runs systemd-analyze verify on them; templates are
// verified as the instance "1" (numeric, as ports made with %i need).
// contrib/units comes after the directory on the unit path.
func runVerify(t *testing.T, units []Unit) (string, error) {
	t.Helper()
	dir := t.TempDir()
	contrib, err := filepath.Abs(contribUnits)
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{}
	if _, err := os.Stat(filepath.Join(contrib, PullTemplate)); err != nil {
		t.Fatalf("the pull template: %v", err)
	}
	made[PullTemplate] = true
	made[DNSSocket] = true // and the resolver's socket, as it is
	var args []string
	for _, u := range units {
		if strings.Contains(u.Name, "/") {
			// A drop-in: read with the unit it extends, not verified alone.
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(u.Name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, u.Name), []byte(u.Text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, u.Name), []byte(u.Text), 0o644); err != nil {
			t.Fatal(err)
		}
		made[u.Name] = true
		args = append(args, filepath.Join(dir, strings.Replace(u.Name, "@.", "@1.", 1)))
	}
	for _, u := range units {
		writeStandIns(t, dir, u.Text, made)
	}
	cmd := exec.Command("systemd-analyze", append([]string{"verify", "--man=no", "--generators=no"}, args...)...)
	cmd.Dir = dir
	// verify puts the directories of its arguments first; the trailing
	// ":" keeps the host's directories (network-online.target) after ours.
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+contrib+":")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeStandIns writes a minimal unit for each dependency of a unit that
// neither the case nor the host has.
func writeStandIns(t *testing.T, dir, text string, made map[string]bool) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		key, value, _ := strings.Cut(line, "=")
		if key != "After" && key != "Requires" && key != "Wants" {
			continue
		}
		for _, name := range strings.Fields(value) {
			file := name
			if prefix, rest, ok := strings.Cut(name, "@"); ok {
				file = prefix + "@" + rest[strings.LastIndexByte(rest, '.'):]
			}
			if made[file] || hostHasUnit(file) {
				continue
			}
			stand := "[Unit]\nDescription=stand-in\n"
			if strings.HasSuffix(file, ".service") {
				stand += "[Service]\nExecStart=/bin/true\n"
			}
			if err := os.WriteFile(filepath.Join(dir, file), []byte(stand), 0o644); err != nil {
				t.Fatal(err)
			}
			made[file] = true
		}
	}
}

func hostHasUnit(name string) bool {
	for _, d := range []string{"/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return true
		}
	}
	return false
}
