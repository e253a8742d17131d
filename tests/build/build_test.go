package build

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
	"github.com/dockah/dockah/tests/testenv"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// base is the image every test file builds on.
const base = "busybox:test"

// contexts is where the box gets the contexts (not its /tmp, which
// nspawn hides behind a tmpfs).
const contexts = "/opt/dockah-build"

var setupOnce sync.Once

func buildBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() {
		images.Import(t, b, base, images.Busybox(t, "sh", "echo", "cat", "id", "pwd", "touch", "mkdir", "chmod",
			"sed", "stat", "find", "sort", "test", "true", "false", "ls"), "--cmd", "sh")
		entries, err := os.ReadDir("testdata")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.CopyFS(b.Path(contexts+"/"+e.Name()), os.DirFS(filepath.Join("testdata", e.Name()))); err != nil {
				t.Fatal(err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// build runs dockah build on the context name as name:test and returns
// the result.
func build(t *testing.T, b *box.Box, name string, extra ...string) box.Result {
	t.Helper()
	args := []string{"dockah", "build", "-t", name + ":test"}
	if flags, err := os.ReadFile(filepath.Join("testdata", name, "flags")); err == nil {
		args = append(args, strings.Fields(string(flags))...)
	}
	args = append(append(args, extra...), contexts+"/"+name)
	return b.Exec(t, "", args...)
}

// Each image built runs under dockah and prints what its want file says.
func TestBuiltImagesRun(t *testing.T) {
	b := buildBox(t)
	for _, name := range []string{"multistage", "argenv", "userworkdir", "ignore", "heredoc", "chown", "config"} {
		t.Run(name, func(t *testing.T) {
			r := build(t, b, name)
			if r.Status != 0 {
				t.Fatalf("dockah build: exit status %d\n%s", r.Status, r.Stderr)
			}
			if id := strings.TrimSpace(r.Stdout); !strings.HasPrefix(id, "sha256:") || !strings.Contains(r.Stderr, "STEP 1/") {
				t.Errorf("dockah build printed %q, and steps:\n%s", id, r.Stderr)
			}
			want, err := os.ReadFile(filepath.Join("testdata", name, "want"))
			if err != nil {
				t.Fatal(err)
			}
			out := b.Dockah(t, "run", "--rm", name+":test")
			if out != string(want) {
				t.Errorf("dockah run %s:test printed\n%s\nwant\n%s", name, out, want)
			}
		})
	}
}

// A second build of an unchanged context takes every step from the
// cache and gives the same image; --no-cache runs them again.
func TestCachedBuild(t *testing.T) {
	b := buildBox(t)
	first := build(t, b, "multistage")
	again := build(t, b, "multistage")
	if first.Status != 0 || again.Status != 0 || first.Stdout != again.Stdout {
		t.Fatalf("builds: %q then %q\n%s", first.Stdout, again.Stdout, again.Stderr)
	}
	if n := strings.Count(again.Stderr, "Using cache"); n != 5 {
		t.Errorf("the second build used the cache %d times, want 5 (all but the FROMs):\n%s", n, again.Stderr)
	}
	fresh := build(t, b, "multistage", "--no-cache")
	if fresh.Status != 0 || strings.Contains(fresh.Stderr, "Using cache") || fresh.Stdout == first.Stdout {
		t.Errorf("--no-cache: %q\n%s", fresh.Stdout, fresh.Stderr)
	}
}

// A failed RUN fails the build naming its line, with the command's
// output, and leaves no container behind.
func TestFailingRun(t *testing.T) {
	b := buildBox(t)
	r := build(t, b, "failing")
	if r.Status == 0 {
		t.Fatalf("the build succeeded:\n%s", r.Stderr)
	}
	for _, want := range []string{"Containerfile:3:", "exit status 3", "about to fail"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the failure does not say %q:\n%s", want, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "never") {
		t.Errorf("a step after the failure ran:\n%s", r.Stderr)
	}
	if entries, _ := os.ReadDir(b.Path("/var/lib/dockah/containers")); len(entries) > 0 {
		var names []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "dockah-build-") {
				names = append(names, e.Name())
			}
		}
		if len(names) > 0 {
			t.Errorf("the build left containers %v", names)
		}
	}
}

// compared are the config fields that must equal Buildah's.
var compared = []string{"Entrypoint", "Cmd", "Env", "User", "WorkingDir", "ExposedPorts", "Labels", "Volumes", "StopSignal"}

// The config of each image equals buildah bud's for the same file and
// context, on the same base image (imported into buildah's storage from
// dockah image save's docker-archive). Buildah 1.28 knows no heredocs.
func TestConfigEqualsBuildah(t *testing.T) {
	testenv.RequireCommand(t, "buildah")
	b := buildBox(t)
	bh := []string{"buildah", "--root", "/var/lib/dockah-test-buildah", "--runroot", "/run/dockah-test-buildah", "--storage-driver", "vfs"}
	b.Dockah(t, "image", "save", "--format", "docker-archive", base, "-o", contexts+"/base.tar")
	if r := b.Exec(t, "", append(bh, "pull", "-q", "docker-archive:"+contexts+"/base.tar")...); r.Status != 0 {
		t.Fatalf("buildah pull: %s", r.Stderr)
	}
	for _, name := range []string{"multistage", "argenv", "userworkdir", "ignore", "chown", "config"} {
		t.Run(name, func(t *testing.T) {
			if r := build(t, b, name); r.Status != 0 {
				t.Fatalf("dockah build: %s", r.Stderr)
			}
			ours := dockahConfig(t, b, name+":test")
			args := append(bh, "bud", "-q", "--isolation", "chroot", "--format", "docker", "--identity-label=false", "-t", "buildah-"+name,
				// Debian 13's buildah raises RLIMIT_NOFILE and RLIMIT_NPROC to 1048576 for
				// a step unless told, which the box's limit refuses.
				"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096")
			if flags, err := os.ReadFile(filepath.Join("testdata", name, "flags")); err == nil {
				args = append(args, strings.Fields(string(flags))...)
			}
			if r := b.Exec(t, "", append(args, contexts+"/"+name)...); r.Status != 0 {
				t.Fatalf("buildah bud: %s", r.Stderr)
			}
			r := b.Exec(t, "", append(bh, "inspect", "--type", "image", "buildah-"+name)...)
			if r.Status != 0 {
				t.Fatalf("buildah inspect: %s", r.Stderr)
			}
			var inspected struct {
				Docker struct {
					Config map[string]any `json:"config"`
				}
			}
			if err := json.Unmarshal([]byte(r.Stdout), &inspected); err != nil {
				t.Fatal(err)
			}
			theirs := inspected.Docker.Config
			for _, field := range compared {
				if a, b := normal(ours[field]), normal(theirs[field]); !reflect.DeepEqual(a, b) {
					t.Errorf("%s: dockah %v, buildah %v", field, a, b)
				}
			}
		})
	}
}

// normal treats an empty list or map as absent, as both tools omit or
// write them.
func normal(v any) any {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return nil
		}
	case map[string]any:
		if len(x) == 0 {
			return nil
		}
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

// dockahConfig is the config of an image of the box's store.
func dockahConfig(t *testing.T, b *box.Box, ref string) map[string]any {
	t.Helper()
	var out []struct {
		Config struct {
			Config map[string]any `json:"config"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(b.Dockah(t, "image", "inspect", ref)), &out); err != nil || len(out) != 1 {
		t.Fatalf("image inspect %s: %v", ref, err)
	}
	return out[0].Config.Config
}

// dockah image save's archives of a built image are read by skopeo and
// loaded by podman, with the config as built.
func TestSaveReadByOtherTools(t *testing.T) {
	testenv.RequireCommand(t, "skopeo", "podman")
	b := buildBox(t)
	if r := build(t, b, "config"); r.Status != 0 {
		t.Fatalf("dockah build: %s", r.Stderr)
	}
	for _, format := range []string{"docker-archive", "oci"} {
		file := contexts + "/config-" + format + ".tar"
		b.Dockah(t, "image", "save", "--format", format, "config:test", "-o", file)
		transport := format + ":"
		if format == "oci" {
			transport = "oci-archive:"
		}
		r := b.Exec(t, "", "skopeo", "inspect", "--config", transport+file)
		if r.Status != 0 || !strings.Contains(r.Stdout, `"StopSignal": "SIGQUIT"`) {
			t.Errorf("skopeo inspect %s: %s%s", format, r.Stdout, r.Stderr)
		}
		r = b.Exec(t, "", "podman", "--root", "/var/lib/dockah-test-podman", "--runroot", "/run/dockah-test-podman", "--storage-driver", "vfs", "load", "-i", file)
		if r.Status != 0 {
			t.Errorf("podman load %s: %s%s", format, r.Stdout, r.Stderr)
		}
	}
}
