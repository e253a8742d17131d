package services

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/dockah/dockah/internal/imageconfig"
	"github.com/dockah/dockah/unitgen"
)

// The checks here need no box: they read the checkout only.

// examples returns the definitions of contrib/units by container name.
func examples(t *testing.T) map[string]*unitgen.Definition {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(projectDir(t), "contrib/units/*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no definitions in contrib/units: %v", err)
	}
	defs := map[string]*unitgen.Definition{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "# ") {
			t.Errorf("%s does not start with a comment saying what it is and how to use it", file)
		}
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		d, err := unitgen.Parse(name, unitgen.File{Path: "/usr/share/dockah/examples/" + filepath.Base(file), Data: data})
		if err != nil {
			t.Errorf("%s:\n%v", file, err)
			continue
		}
		defs[name] = d
	}
	return defs
}

// TestDefinitionsRender parses every definition of contrib/units, renders
// its units and its runtime spec, as the generator and the shim would.
func TestDefinitionsRender(t *testing.T) {
	for name, d := range examples(t) {
		out, err := unitgen.Render(d, unitgen.Options{ShimPath: "/usr/libexec/dockah/dockah-activate"})
		if err != nil {
			t.Errorf("render %s: %v", name, err)
			continue
		}
		if len(out.Units) == 0 {
			t.Errorf("%s renders no unit", name)
		}
		if d.IsTemplate() {
			continue // the spec is an instance's
		}
		in := unitgen.SpecInput{Image: imageconfig.Config{Entrypoint: []string{"/entrypoint"}}, VolumeDir: "/var/lib/dockah/volumes"}
		if _, err := unitgen.Spec(d, in); err != nil {
			t.Errorf("runtime spec of %s: %v", name, err)
		}
	}
}

// TestDefinitionsOfServices checks that every image of contrib/images has
// a definition of the same name using it, forwarded from a socket on
// 127.0.0.1 (or a unix socket) to the service's port, and that no two
// definitions listen on the same address.
func TestDefinitionsOfServices(t *testing.T) {
	defs := examples(t)
	listeners := map[string]string{}
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		d := defs[name]
		for _, s := range d.Sockets {
			if other, ok := listeners[s.Listen]; ok {
				t.Errorf("%s and %s both listen on %s", other, name, s.Listen)
			}
			listeners[s.Listen] = name
			if !s.IsUnix() && !strings.HasPrefix(s.Listen, "127.0.0.1:") {
				t.Errorf("%s listens on %s: examples listen on 127.0.0.1 only", name, s.Listen)
			}
		}
	}
	for _, svc := range imageServices(t) {
		d, ok := defs[svc]
		if !ok {
			t.Errorf("contrib/images/%s has no definition contrib/units/%s.toml", svc, svc)
			continue
		}
		if want := "dockah/" + svc + ":latest"; d.Container.Image != want {
			t.Errorf("contrib/units/%s.toml runs the image %q, want %q", svc, d.Container.Image, want)
		}
		if len(d.Sockets) == 0 || d.Sockets[0].Port == 0 {
			t.Errorf("contrib/units/%s.toml has no forwarded socket", svc)
		}
		if d.Resources.MemoryMax == 0 || d.Resources.TasksMax == 0 {
			t.Errorf("contrib/units/%s.toml sets no memory_max or tasks_max", svc)
		}
		if len(d.Security.CapabilitiesDrop) == 0 {
			t.Errorf("contrib/units/%s.toml drops no capability", svc)
		}
	}
}

// imageServices lists the services contrib/images/build knows.
func imageServices(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command(filepath.Join(projectDir(t), "contrib/images/build"), "--list").Output()
	if err != nil {
		t.Fatalf("contrib/images/build --list: %v", err)
	}
	svcs := strings.Fields(string(out))
	for _, want := range []string{"nginx", "memcached", "postgres", "redis", "sshd"} {
		if !slices.Contains(svcs, want) {
			t.Errorf("contrib/images/build --list has no %s: %q", want, svcs)
		}
	}
	return svcs
}

// TestImageScriptsParse checks the syntax of the build script and of the
// shell scripts it copies into images.
func TestImageScriptsParse(t *testing.T) {
	dir := filepath.Join(projectDir(t), "contrib/images")
	if out, err := exec.Command("bash", "-n", filepath.Join(dir, "build")).CombinedOutput(); err != nil {
		t.Errorf("bash -n contrib/images/build: %v\n%s", err, out)
	}
	scripts, _ := filepath.Glob(filepath.Join(dir, "*/dockah-entrypoint"))
	images, _ := filepath.Glob(filepath.Join(dir, "*/image.sh"))
	if len(scripts) == 0 || len(images) == 0 {
		t.Fatalf("no entrypoints or image.sh files in %s", dir)
	}
	for _, f := range scripts {
		if out, err := exec.Command("sh", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", f, err, out)
		}
	}
	for _, f := range images {
		if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f, err, out)
		}
	}
}
