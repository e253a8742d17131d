package container

import (
	"testing"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// helloImage builds the static hello server and imports it into the box's
// store as a one-file root filesystem image named ref, through the CLI.
func helloImage(t *testing.T, b *box.Box, ref string) {
	t.Helper()
	bin := images.Build(t, "./contrib/hello", t.TempDir())
	images.Import(t, b, ref, []images.Entry{{Name: "hello", Source: bin}}, "--entrypoint", "/hello")
}
