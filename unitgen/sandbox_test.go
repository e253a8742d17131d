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
		var text strings.Builder
		for _, s := range Sandbox(d) {
			text.WriteString(s.String() + "\n")
		}
		sandbox := text.String()
		if !strings.HasPrefix(sandbox, "CapabilityBoundingSet=") && !strings.HasPrefix(sandbox, "NoNewPrivileges=") && !strings.HasPrefix(sandbox, "ProtectSystem=") {
			t.Errorf("%s: sandbox starts %.40q", def, sandbox)
		}
		if !strings.Contains(out.Units[0].Text, "\n"+sandbox) {
			t.Errorf("%s: the sandbox\n%s\nis not in the service\n%s", def, sandbox, out.Units[0].Text)
		}
	}
}

// A directive holds the definition's own values; the unit escapes them.
func TestSandboxDirectiveValues(t *testing.T) {
	for _, tc := range []struct {
		s        SandboxDirective
		template bool
		want     string
	}{
		{SandboxDirective{Key: "ReadWritePaths", Values: []string{"/srv/100%"}}, false, "/srv/100%%"},
		{SandboxDirective{Key: "ReadWritePaths", Values: []string{"/srv/%i"}}, true, "/srv/%i"},
		{SandboxDirective{Key: "SystemCallFilter", Values: []string{"@clock", "@swap"}, Deny: true}, false, "~@clock @swap"},
		{SandboxDirective{Key: "DeviceAllow", Values: []string{"/dev/null", "rw"}}, false, "/dev/null rw"},
		// One path with a blank stays one path: systemd unquotes it.
		{SandboxDirective{Key: "ReadWritePaths", Values: []string{"/srv/my data"}}, false, `"/srv/my data"`},
	} {
		var b strings.Builder
		if tc.s.writeValue(&b, tc.template); b.String() != tc.want {
			t.Errorf("%+v (template %v) = %q, want %q", tc.s, tc.template, b.String(), tc.want)
		}
	}
	d, err := Parse("web", File{Path: "/etc/dockah/containers/web.toml",
		Data: deftest.New("a").Table("[[volume]]", `source = "/srv/100%"`, `target = "/a"`).Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	var paths [][]string
	for _, s := range Sandbox(d) {
		if s.Key == "ReadWritePaths" {
			paths = append(paths, s.Values)
		}
	}
	if len(paths) != 2 || len(paths[1]) != 1 || paths[1][0] != "/srv/100%" {
		t.Errorf("ReadWritePaths %q: want the store and the volume's source as written", paths)
	}
	out, err := Render(d, Options{ShimPath: goldenShim})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Units[0].Text, "\nReadWritePaths=/srv/100%%\n") {
		t.Errorf("the service does not escape the volume's %%:\n%s", out.Units[0].Text)
	}
}
