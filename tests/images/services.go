package images

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
)

// Service builds the image of contrib/images/SVC on the host (with
// contrib/images/build, which keeps it in /var/cache/dockah-images) and
// imports it into the box as dockah/SVC:latest through the same script,
// as a user would. The build needs mmdebstrap and the Debian mirror the
// first time.
func Service(t testing.TB, b *box.Box, svc string) {
	t.Helper()
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(project, "contrib/images/build"), "--no-import", svc)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("contrib/images/build --no-import %s: %v (the image is built from Debian's packages: the Debian mirror must be reachable)\n%s", svc, err, stderr.String())
	}
	tar := strings.TrimSpace(stdout.String())
	// Not under the box's /tmp, which nspawn hides behind a tmpfs.
	src := "/opt/dockah-service-images"
	if _, err := os.Stat(b.Path(src)); err != nil {
		if out, err := exec.Command("cp", "-a", filepath.Join(project, "contrib/images"), b.Path(src)).CombinedOutput(); err != nil {
			t.Fatalf("copy contrib/images into the box: %v\n%s", err, out)
		}
	}
	inside := src + "/" + svc + ".tar"
	if out, err := exec.Command("cp", tar, b.Path(inside)).CombinedOutput(); err != nil {
		t.Fatalf("copy the image into the box: %v\n%s", err, out)
	}
	// The box's root is in memory: the tar goes once imported.
	defer os.Remove(b.Path(inside))
	if out, err := b.Run(src+"/build", "--import", inside, svc); err != nil {
		t.Fatalf("import %s: %v\n%s", svc, err, out)
	}
}
