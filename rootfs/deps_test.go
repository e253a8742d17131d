package rootfs

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

// TestShimDependencies keeps the package the activation shim links free
// of archive formats and compression, which live in rootfs/layer and
// rootfs/archive, and of image-spec's types, whose go-digest compiles
// regular expressions at every start (internal/imageconfig has the
// types a start reads).
func TestShimDependencies(t *testing.T) {
	testenv.RequireCommand(t, "go")
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/dockah/dockah/internal/imageconfig" {
			continue
		}
		for _, banned := range []string{"github.com/klauspost/", "archive/tar", "compress/", "github.com/dockah/dockah/rootfs/", "github.com/opencontainers/image-spec", "github.com/opencontainers/go-digest"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("rootfs imports %s: keep it out of the shim's path (move it to rootfs/layer or rootfs/archive)", dep)
			}
		}
	}
}
