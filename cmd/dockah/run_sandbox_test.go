package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/internal/deftest"
	"github.com/dockah/dockah/unitgen"
)

// Every directive of the generated units' sandbox reaches a "dockah run"
// unit as the property, and the D-Bus type, systemd reads it from: with
// the shim's own sandbox (the default) and with systemd's.
func TestSandboxProperties(t *testing.T) {
	data, err := buildRunDefinition(runOptions{}, "busybox:latest", []string{"true"}, runEnv{})
	if err != nil {
		t.Fatal(err)
	}
	def, err := unitgen.Parse("run-x", unitgen.File{Path: "/run/dockah/run/run-x.toml", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	got := runProperties(t, def, "/srv/store")
	for name, signature := range map[string]string{
		"CapabilityBoundingSet": "t", "NoNewPrivileges": "b", "PrivateMounts": "b",
		"UMask": "u", "IPAddressDeny": "a(iayu)", "IPAddressAllow": "a(iayu)", "RestrictNamespaces": "t",
		"DeviceAllow": "a(ss)", "RestrictAddressFamilies": "(bas)",
		"SystemCallArchitectures": "as", "SystemCallFilter": "(bas)", "SystemCallErrorNumber": "i",
	} {
		if v, ok := got[name]; !ok || v.Signature().String() != signature {
			t.Errorf("%s: %v, want the D-Bus type %s", name, v, signature)
		}
	}
	// No mount namespace from systemd: the shim keeps the store it uses
	// writable itself.
	for _, name := range []string{"ProtectSystem", "ReadWritePaths", "ProtectHome", "PrivateTmp", "ProtectKernelTunables"} {
		if v, ok := got[name]; ok {
			t.Errorf("%s=%v under the shim's own sandbox", name, v)
		}
	}
	if got["PrivateMounts"].Value() != false {
		t.Errorf("PrivateMounts=%v, want false (no mount namespace for PrivateNetwork=)", got["PrivateMounts"])
	}
	if got["UMask"].Value() != uint32(0o077) || got["SystemCallErrorNumber"].Value() != int32(unix.EPERM) {
		t.Errorf("UMask %v, SystemCallErrorNumber %v", got["UMask"], got["SystemCallErrorNumber"])
	}
	// user: the container's own user namespace, the default.
	if ns := got["RestrictNamespaces"].Value().(uint64); ns&unix.CLONE_NEWNS == 0 || ns&unix.CLONE_NEWUSER == 0 {
		t.Errorf("RestrictNamespaces %#x: want mnt and user allowed", ns)
	}
	if caps := got["CapabilityBoundingSet"].Value().(uint64); caps&(1<<unix.CAP_SYS_ADMIN) == 0 || caps&(1<<unix.CAP_SYS_PTRACE) != 0 {
		t.Errorf("CapabilityBoundingSet %#x: want SYS_ADMIN (the shim mounts) and not SYS_PTRACE", caps)
	}
	if filter := got["SystemCallFilter"].Value().(listProperty); filter.Allow || !slices.Contains(filter.Names, "@module") || !slices.Contains(filter.Names, "syslog") {
		t.Errorf("SystemCallFilter %+v: want a deny list with @module and syslog", filter)
	}
	if families := got["RestrictAddressFamilies"].Value().(listProperty); !families.Allow || !slices.Contains(families.Names, "AF_UNIX") {
		t.Errorf("RestrictAddressFamilies %+v: want an allow list with AF_UNIX", families)
	}
	deny := got["IPAddressDeny"].Value().([]addressPrefix)
	if len(deny) != 2 || deny[0].Family != unix.AF_INET || len(deny[0].Addr) != 4 || deny[0].Prefix != 0 || deny[1].Family != unix.AF_INET6 || len(deny[1].Addr) != 16 {
		t.Errorf("IPAddressDeny %+v: want 0.0.0.0/0 and ::/0", deny)
	}
	allow := got["IPAddressAllow"].Value().([]addressPrefix)
	if len(allow) != 2 || allow[0].Prefix != 8 || allow[0].Addr[0] != 127 || allow[1].Prefix != 128 {
		t.Errorf("IPAddressAllow %+v: want 127.0.0.0/8 and ::1/128", allow)
	}

	// Under systemd's sandbox, the store in use is one more writable path.
	def, err = unitgen.Parse("run-x", unitgen.File{Path: "/run/dockah/run/run-x.toml",
		Data: deftest.New("busybox:latest").Table("[security]", `unit_sandbox = "systemd"`).Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	got = runProperties(t, def, "/srv/store")
	for name, signature := range map[string]string{"ProtectSystem": "s", "ReadWritePaths": "as", "ProtectKernelTunables": "b", "PrivateTmp": "b"} {
		if v, ok := got[name]; !ok || v.Signature().String() != signature {
			t.Errorf("systemd's sandbox: %s: %v, want the D-Bus type %s", name, v, signature)
		}
	}
	if paths := got["ReadWritePaths"].Value().([]string); !slices.Equal(paths, []string{unitgen.StoreDir, "/srv/store"}) {
		t.Errorf("ReadWritePaths %v: want the default store and the one in use", paths)
	}
	// The store under the default one needs no second entry.
	if paths := runProperties(t, def, unitgen.StoreDir)["ReadWritePaths"].Value().([]string); len(paths) != 1 {
		t.Errorf("ReadWritePaths %v", paths)
	}
}

// runProperties returns the sandbox properties of a "dockah run" unit of
// def, by name, each once.
func runProperties(t *testing.T, def *unitgen.Definition, store string) map[string]dbus.Variant {
	t.Helper()
	props, err := sandboxProperties(def, store)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]dbus.Variant{}
	for _, p := range props {
		if _, dup := got[p.Name]; dup {
			t.Errorf("%s twice", p.Name)
		}
		got[p.Name] = p.Value
	}
	for _, dir := range unitgen.Sandbox(def) {
		if _, ok := got[dir.Key]; !ok {
			t.Errorf("the sandbox's %s is not a property", dir.Key)
		}
	}
	return got
}

// Every directive the sandbox has for any kind of definition converts to
// a property, once, and a bind volume's path reaches systemd as the
// definition wrote it: D-Bus values are not unit-file text.
func TestSandboxPropertiesOfEveryDefinition(t *testing.T) {
	defs := append(deftest.Sandboxes(),
		deftest.New("a").Table("[[volume]]", `source = "/srv/100% done"`, `target = "/a"`).
			Table("[security]", `unit_sandbox = "systemd"`))
	for _, d := range defs {
		def, err := unitgen.Parse("run-x", unitgen.File{Path: "/run/dockah/run/run-x.toml", Data: d.Bytes()})
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		props, err := sandboxProperties(def, "/srv/store")
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		got := map[string]dbus.Variant{}
		for _, p := range props {
			if _, dup := got[p.Name]; dup {
				t.Errorf("%s: %s twice", d, p.Name)
			}
			got[p.Name] = p.Value
		}
		for _, dir := range unitgen.Sandbox(def) {
			if _, ok := got[dir.Key]; !ok {
				t.Errorf("%s: the sandbox's %s is not a property", d, dir.Key)
			}
		}
		if _, own := def.ShimSandbox(); own {
			if v, ok := got["ReadWritePaths"]; ok {
				t.Errorf("%s: ReadWritePaths=%v under the shim's own sandbox", d, v)
			}
			continue
		}
		for _, v := range def.Volumes {
			paths := got["ReadWritePaths"].Value().([]string)
			if !v.ReadOnly && !v.IsNamed() && !slices.Contains(paths, v.Source) {
				t.Errorf("%s: ReadWritePaths %q has no %q", d, paths, v.Source)
			}
		}
	}
	// A directive unitgen might add one day is an error, not a gap.
	if _, err := sandboxProperty(unitgen.SandboxDirective{Key: "ProtectNothing", Values: []string{"yes"}}); err == nil {
		t.Error("a directive without a conversion converted")
	}
	if _, err := sandboxList("ProtectNothing", nil); err == nil {
		t.Error("a list directive without a conversion converted")
	}
}

// An attached run's scope goes to dockah.slice, which holds the device
// access list, when its list is the default one, the generator has
// defined the slice and the cgroup layout is unified; otherwise it
// carries the list itself. The IP access
// list is the scope's either way.
func TestScopePropertiesDeviceSlice(t *testing.T) {
	defined := filepath.Join(t.TempDir(), "dockah.slice")
	if err := os.WriteFile(defined, []byte("[Slice]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A cgroup2 mount: /sys/fs/cgroup in the unified layout, its unified
	// directory in the hybrid one.
	unified := ""
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var fs unix.Statfs_t
		if unix.Statfs(dir, &fs) == nil && fs.Type == unix.CGROUP2_SUPER_MAGIC {
			unified = dir
		}
	}
	if unified == "" {
		t.Skip("no cgroup2 hierarchy mounted here")
	}
	savedFile, savedRoot := sliceUnitFile, cgroupRoot
	t.Cleanup(func() { sliceUnitFile, cgroupRoot = savedFile, savedRoot })
	for _, tc := range []struct {
		name, security, sliceFile, cgroups string
		inSlice, ownDevices                bool
	}{
		{"default", "", defined, unified, true, false},
		{"no generator output", "", "/nonexistent/dockah.slice", unified, false, true},
		{"v1 devices controller", "", defined, t.TempDir(), false, true},
		{"every capability", "[security]\ncapabilities_add = [\"ALL\"]\n", defined, unified, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sliceUnitFile, cgroupRoot = tc.sliceFile, tc.cgroups
			def, err := unitgen.Parse("web", unitgen.File{Path: "/run/dockah/run/web.toml", Data: []byte("[container]\nimage = \"web:1\"\n" + tc.security)})
			if err != nil {
				t.Fatal(err)
			}
			sandbox, err := sandboxProperties(def, "")
			if err != nil {
				t.Fatal(err)
			}
			r := &transientRun{name: "web", def: def, sandbox: sandbox}
			got := map[string]any{}
			for _, p := range r.scopeProperties(42) {
				got[p.Name] = p.Value.Value()
			}
			if slice, ok := got["Slice"]; ok != tc.inSlice || (ok && slice != unitgen.ContainerSlice) {
				t.Errorf("Slice = %v (set %v), want set %v", slice, ok, tc.inSlice)
			}
			_, policy := got["DevicePolicy"]
			_, allow := got["DeviceAllow"]
			if policy != tc.ownDevices || allow != tc.ownDevices {
				t.Errorf("DevicePolicy set %v, DeviceAllow set %v; want both %v", policy, allow, tc.ownDevices)
			}
			if _, ok := got["IPAddressDeny"]; !ok {
				t.Errorf("no IPAddressDeny: %v", got)
			}
		})
	}
}
