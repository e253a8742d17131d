package unitgen

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
		if !strings.HasPrefix(sandbox, "CapabilityBoundingSet=") && !strings.HasPrefix(sandbox, "NoNewPrivileges=") && !strings.HasPrefix(sandbox, "ProtectSystem=") && !strings.HasPrefix(sandbox, "UMask=") {
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
		Data: deftest.New("a").Table("[[volume]]", `source = "/srv/100%"`, `target = "/a"`).
			Table("[security]", `unit_sandbox = "systemd"`).Bytes()})
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

// The unit of the shim's own sandbox has no directive that makes systemd
// build a mount namespace (exec_needs_mount_namespace() of systemd's
// src/core/execute.c), for every kind of definition; systemd's sandbox has
// them, as before.
func TestShimSandboxLeavesMountNamespaceOut(t *testing.T) {
	mountNamespace := []string{"ProtectSystem", "ProtectHome", "PrivateTmp", "ReadWritePaths",
		"ReadOnlyPaths", "InaccessiblePaths", "BindPaths", "BindReadOnlyPaths", "TemporaryFileSystem",
		"PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
		"ProtectControlGroups", "ProtectProc", "ProcSubset", "PrivateIPC", "RootDirectory", "RootImage"}
	for _, def := range deftest.Sandboxes() {
		d, err := Parse("web", File{Path: "/etc/dockah/containers/web.toml", Data: def.Bytes()})
		if err != nil {
			t.Fatalf("%s: %v", def, err)
		}
		keys := map[string]string{}
		for _, s := range Sandbox(d) {
			keys[s.Key] = strings.Join(s.Values, " ")
		}
		_, shim := d.ShimSandbox()
		if !shim {
			if keys["ProtectSystem"] != "strict" {
				t.Errorf("%s: unit_sandbox = \"systemd\" without ProtectSystem=strict", def)
			}
			continue
		}
		for _, k := range mountNamespace {
			if v, ok := keys[k]; ok {
				t.Errorf("%s: %s=%s makes systemd build a mount namespace", def, k, v)
			}
		}
		// PrivateNetwork= implies PrivateMounts= unless it says no.
		if _, private := keys["PrivateNetwork"]; private != (keys["PrivateMounts"] == "no") {
			t.Errorf("%s: PrivateNetwork=%q with PrivateMounts=%q", def, keys["PrivateNetwork"], keys["PrivateMounts"])
		}
	}
}

// The shim's own sandbox is the equivalent of the directives it replaces,
// widened as they are by what the definition asks.
func TestShimSandbox(t *testing.T) {
	for _, tc := range []struct {
		name string
		def  *deftest.Definition
		want ShimSandbox
		shim bool
	}{
		{"default", deftest.New("a"), ShimSandbox{
			Hidden:  []string{"/home", "/root", "/run/user", "/usr/lib/modules", "/lib/modules"},
			Private: []string{"/tmp", "/var/tmp"},
			Masked:  []string{"/proc/kmsg", "/dev/kmsg"},
		}, true},
		{"systemd's", deftest.New("a").Table("[security]", `unit_sandbox = "systemd"`), ShimSandbox{}, false},
		{"volumes", deftest.New("a").
			Table("[[volume]]", `source = "/home/a"`, `target = "/a"`).
			Table("[[volume]]", `source = "/var/tmp/b"`, `target = "/b"`, "read_only = true").
			Table("[[volume]]", `source = "/srv/c"`, `target = "/c"`).
			Table("[[volume]]", `source = "/srv/c"`, `target = "/c2"`).
			Table("[[volume]]", `source = "named"`, `target = "/d"`), ShimSandbox{
			Writable: []string{"/home/a", "/srv/c"},
			Hidden:   []string{"/root", "/run/user", "/usr/lib/modules", "/lib/modules"},
			Masked:   []string{"/proc/kmsg", "/dev/kmsg"},
		}, true},
		{"capabilities", deftest.New("a").Table("[security]", `capabilities_add = ["SYS_MODULE", "SYSLOG"]`), ShimSandbox{
			Hidden:  []string{"/home", "/root", "/run/user"},
			Private: []string{"/tmp", "/var/tmp"},
		}, true},
		{"all", deftest.New("a").Table("[security]", `capabilities_add = ["ALL"]`), ShimSandbox{
			Hidden:  []string{"/home", "/root", "/run/user"},
			Private: []string{"/tmp", "/var/tmp"},
		}, true},
	} {
		d, err := Parse("web", File{Path: "/etc/dockah/containers/web.toml", Data: tc.def.Bytes()})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, shim := d.ShimSandbox()
		if diff := cmp.Diff(tc.want, got); diff != "" || shim != tc.shim {
			t.Errorf("%s: shim %v (want %v), sandbox (-want +got):\n%s", tc.name, shim, tc.shim, diff)
		}
	}
}
