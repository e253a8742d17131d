package unitgen

import (
	"strings"
	"testing"
)

// Sandbox is the part of the rendered service that confines it, for
// every kind of definition: default, widened by capabilities, unconfined,
// on the host's network, with volumes under /home and /tmp.
func TestSandboxIsPartOfTheService(t *testing.T) {
	for _, def := range []string{
		"[container]\nimage = \"a\"\n",
		"[container]\nimage = \"a\"\nnetwork = \"host\"\n[security]\ncapabilities_add = [\"CAP_SYS_TIME\", \"CAP_NET_RAW\"]\n",
		"[container]\nimage = \"a\"\n[security]\nseccomp = \"unconfined\"\ncapabilities_add = [\"ALL\"]\n",
		"[container]\nimage = \"a\"\n[[volume]]\nsource = \"/home/a\"\ntarget = \"/a\"\n[[volume]]\nsource = \"/tmp/b\"\ntarget = \"/b\"\n",
	} {
		d, err := Parse("web", File{Path: "/etc/dockah/containers/web.toml", Data: []byte(def)})
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
