package box

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

// TestCloseRemovesItsCgroups boots a box, leaves a unit running in it
// with an IP filter (BPF programs on its cgroup), and closes the box:
// nothing of the box's cgroups may stay in the host's hierarchies, where
// a later box's unit of the same name would inherit the filter.
func TestCloseRemovesItsCgroups(t *testing.T) {
	if err := Preflight(); err != nil {
		testenv.Skip(t, err.Error())
	}
	b, err := Boot(Options{Log: t.Logf})
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	name := cgroupName(b.dir)
	var paths []string
	for _, h := range cgroupHierarchies() {
		paths = append(paths, filepath.Join(h, name))
	}
	if out, err := b.Run("systemd-run", "--unit=filtered", "-p", "IPAddressDeny=any", "sleep", "infinity"); err != nil {
		t.Fatalf("start a filtered unit: %v\n%s", err, out)
	}
	unit := ""
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join(p, "payload/system.slice/filtered.service")); err == nil {
			unit = p
		}
	}
	if unit == "" {
		t.Fatalf("filtered.service is in none of the box's cgroups %v: the box does not boot in a cgroup of its own", paths)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is left after Close (stat: %v)", p, err)
		}
	}
}
