package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

func TestCommandWord(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"run", "--rm", "img"}, "run"},
		{[]string{"--root", "/srv/store", "run", "img"}, "run"},
		{[]string{"--root=/srv/store", "-q", "ps", "-a"}, "ps"},
		{[]string{"--quiet", "image", "ls"}, "image"},
		{[]string{"--root"}, ""},
		{[]string{"--help"}, ""},
		{[]string{"-h", "run"}, ""},
		{[]string{"--", "run"}, ""},
		{[]string{"--verbose", "run"}, ""},
	} {
		if got := commandWord(tc.args); got != tc.want {
			t.Errorf("commandWord(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestLeanBuildHandsOver builds the lean build and runs it beside a
// stand-in for the full build that prints how it was called: the start
// path's commands are the lean build's own, the others go to the full
// build with the same arguments.
func TestLeanBuildHandsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	testenv.RequireCommand(t, "go")
	dir := t.TempDir()
	lean := filepath.Join(dir, "dockah")
	// The shim of an attached run starts before the image is looked up;
	// this one waits as the real one does, for the word that does not
	// come.
	shim := filepath.Join(dir, "shim")
	if err := os.WriteFile(shim, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-tags", "lean", "-ldflags", "-X main.shimPath="+shim, "-o", lean, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags lean: %v\n%s", err, out)
	}
	full := "#!/bin/sh\necho full \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, fullName), []byte(full), 0o755); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"version"}, "dockah dev"},
		{[]string{"--root", store, "validate", "no-such-container"}, "no-such-container"},
		{[]string{"run", "--help"}, "--tls-verify"},
		{[]string{"image", "ls"}, "full image ls"},
		{[]string{"exec", "web", "true"}, "full exec web true"},
		{[]string{"--root", store, "pull", "busybox"}, "full --root " + store + " pull busybox"},
		{[]string{"build", "-t", "x", "."}, "full build -t x ."},
		{[]string{"--help"}, "full --help"},
		{nil, "full"},
		{[]string{"completion", "bash"}, "full completion bash"},
		// The image is not in the store: the full build pulls it.
		{[]string{"--root", store, "run", "--rm", "--name", "lean-test", "busybox:1"}, "full --root " + store + " run --rm --name lean-test busybox:1"},
	} {
		cmd := exec.Command(lean, tc.args...)
		cmd.Env = append(os.Environ(), "DOCKAH_ROOT="+store)
		out, _ := cmd.CombinedOutput()
		handedOver := strings.HasPrefix(string(out), "full")
		if !strings.Contains(string(out), tc.want) || handedOver != strings.HasPrefix(tc.want, "full") || strings.Contains(string(out), "went away") {
			t.Errorf("dockah %s printed:\n%s\nwant it to contain %q", strings.Join(tc.args, " "), out, tc.want)
		}
	}
}

// TestLeanBuildLinksNoHeavyPackage keeps the lean build lean: none of
// the packages whose initialisation made the CLI's start slow.
func TestLeanBuildLinksNoHeavyPackage(t *testing.T) {
	testenv.RequireCommand(t, "go")
	list := exec.Command("go", "list", "-tags", "lean", "-deps", ".")
	list.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, heavy := range []string{
			"github.com/google/go-containerregistry", "github.com/klauspost/compress", "modernc.org/",
			"gopkg.in/yaml", "go.yaml.in/", "sigs.k8s.io/", "github.com/moby/buildkit", "google.golang.org/protobuf",
			"github.com/dockah/dockah/rootfs/remote", "github.com/dockah/dockah/inventory",
			"github.com/dockah/dockah/kube", "github.com/dockah/dockah/build",
			"github.com/seccomp/libseccomp-golang", "runtime/cgo",
			// go-digest compiles regular expressions at every start;
			// images are read with internal/imageconfig's types.
			"github.com/opencontainers/image-spec", "github.com/opencontainers/go-digest",
		} {
			if strings.HasPrefix(pkg, heavy) {
				t.Errorf("the lean build links %s", pkg)
			}
		}
	}
}
