package unitgen

import (
	"strings"
	"testing"

	"github.com/dockah/dockah/internal/deftest"
)

// Sandbox is the part of the rendered service that confines it, for
// every kind of definition (deftest.Sandboxes): default, widened by
// capabilities, unconfined, on the host's network, with volumes.
func TestSandboxIsPartOfTheService(t *testing.T) {
	for _, def := range deftest.Sandboxes() {
		d, err := Parse("web", File{Path: "/etc/dockah/containers/web.toml", Data: def.Bytes()})
		if err != nil {
			t.Fatalf("%s: %v", def, err)
		}
		out, err := Render(d, Options{ShimPath: goldenShim})
		if err != nil {
			t.Fatal(err)
		}
		sandbox := Sandbox(d)
		if !strings.HasPrefix(sandbox, "CapabilityBoundingSet=") && !strings.HasPrefix(sandbox, "NoNewPrivileges=") && !strings.HasPrefix(sandbox, "ProtectSystem=") {
			t.Errorf("%s: sandbox starts %.40q", def, sandbox)
		}
		if !strings.Contains(out.Units[0].Text, "\n"+sandbox) {
			t.Errorf("%s: the sandbox\n%s\nis not in the service\n%s", def, sandbox, out.Units[0].Text)
		}
	}
}
