package build

import (
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/registry"
)

// FROM an image the store lacks pulls it (--pull=missing, the default)
// from a registry on the loopback; --pull=never refuses to.
func TestFromPullsTheBase(t *testing.T) {
	b := buildBox(t)
	reg := registry.Start(t, registry.Options{})
	b.Dockah(t, "image", "save", "--format", "docker-archive", base, "-o", contexts+"/pullbase.tar")
	reg.Copy(t, "docker-archive:"+b.Path(contexts+"/pullbase.tar"), "build/busybox:pulled")
	file := "FROM " + reg.Ref("build/busybox:pulled") + "\nRUN echo built on a pulled base > /p\nCMD [\"cat\", \"/p\"]\n"
	if err := b.WriteFile(contexts+"/pulled/Containerfile", []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	never := b.Exec(t, "", "dockah", "build", "--pull=never", "-t", "pulled:test", contexts+"/pulled")
	if never.Status == 0 || !strings.Contains(never.Stderr, "Containerfile:1:") {
		t.Errorf("--pull=never built on an image the store lacks:\n%s", never.Stderr)
	}
	r := b.Exec(t, "", "dockah", "build", "--tls-verify=false", "-t", "pulled:test", contexts+"/pulled")
	if r.Status != 0 {
		t.Fatalf("dockah build: %s", r.Stderr)
	}
	if out := b.Dockah(t, "run", "--rm", "pulled:test"); out != "built on a pulled base\n" {
		t.Errorf("dockah run printed %q", out)
	}
	if out := b.Dockah(t, "image", "ls"); !strings.Contains(out, "build/busybox") {
		t.Errorf("the pulled base is not in the store:\n%s", out)
	}
}
