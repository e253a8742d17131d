package rootfs

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

// TestShimDependencies keeps the package the activation shim links free
// of archive formats and compression: those live in rootfs/layer and
// rootfs/archive.
func TestShimDependencies(t *testing.T) {
	testenv.RequireCommand(t, "go")
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/klauspost/", "archive/tar", "compress/", "github.com/dockah/dockah/rootfs/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("rootfs imports %s: keep it out of the shim's path (move it to rootfs/layer or rootfs/archive)", dep)
			}
		}
	}
}
