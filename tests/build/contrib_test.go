package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// The demo server's image is built from contrib/hello/Containerfile with
// the checkout as context, and serves on a published port.
func TestContribHelloImage(t *testing.T) {
	b := buildBox(t)
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx := contexts + "/checkout"
	images.Build(t, "./contrib/hello", b.Path(ctx+"/bin"))
	file, err := os.ReadFile(filepath.Join(project, "contrib/hello/Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFile(ctx+"/contrib/hello/Containerfile", file, 0o644); err != nil {
		t.Fatal(err)
	}
	b.Dockah(t, "build", "-q", "-f", ctx+"/contrib/hello/Containerfile", "-t", "hello:built", ctx)
	defer b.Run("dockah", "rm", "-f", "hello-built")
	if r := b.Exec(t, "", "dockah", "run", "-d", "--name", "hello-built", "-p", "127.0.0.1:18951:8080", "hello:built"); r.Status != 0 {
		journal, _ := b.Journal("hello-built.service")
		t.Fatalf("dockah run: exit status %d\n%s\n%s", r.Status, r.Stderr, journal)
	}
	var body string
	ok := box.Eventually(10*time.Second, func() bool {
		body, _ = b.Run("curl", "-s", "http://127.0.0.1:18951/")
		return strings.Contains(body, "hello from dockah")
	})
	if !ok {
		t.Fatalf("no answer from the image built: %q", body)
	}
	if info, _ := b.Run("curl", "-s", "http://127.0.0.1:18951/info"); !strings.Contains(info, `"uid": 65534`) && !strings.Contains(info, `"uid":65534`) {
		t.Errorf("the server does not run as USER 65534: %s", info)
	}
}
