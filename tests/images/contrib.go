package images

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
)

// ContribDir is where a box gets a copy of contrib/images (src/) and the
// tars it imports. Not under the box's /tmp, which nspawn hides behind a
// tmpfs.
const ContribDir = "/opt/dockah-images"

// Contrib builds the image of a service of contrib/images
// (dockah/SERVICE:latest) on the host with contrib/images/build, or finds
// it in that script's cache, and imports it into the box's store with the
// box's dockah, through the same script, as an administrator would.
func Contrib(t *testing.T, b *box.Box, svc string) {
	t.Helper()
	ImportContrib(t, b, svc, BuildContrib(t, svc))
}

// BuildContrib builds the service's image on the host with
// contrib/images/build (or finds it in its cache) and returns the tar.
func BuildContrib(t *testing.T, svc string) string {
	t.Helper()
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(project, "contrib/images/build")
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script, "--no-import", svc)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s --no-import %s: %v (the image is built from Debian's packages: the Debian mirror must be reachable)\n%s",
			script, svc, err, tail(stderr.String(), 60))
	}
	tar := strings.TrimSpace(stdout.String())
	if _, err := os.Stat(tar); err != nil {
		t.Fatalf("%s --no-import %s printed %q: %v", script, svc, tar, err)
	}
	t.Logf("image %s: %s (%s)", svc, tail(stderr.String(), 1), time.Since(start).Round(time.Second))
	return tar
}

// ImportContrib imports a tar of BuildContrib into the box's store with
// the box's dockah, through contrib/images/build (copied into the box
// once).
func ImportContrib(t *testing.T, b *box.Box, svc, tar string) {
	t.Helper()
	if _, err := os.Stat(b.Path(ContribDir + "/src/build")); err != nil {
		project, err := box.FindProjectDir()
		if err != nil {
			t.Fatal(err)
		}
		if err := copyTree(filepath.Join(project, "contrib/images"), b.Path(ContribDir+"/src")); err != nil {
			t.Fatalf("copy contrib/images into the box: %v", err)
		}
	}
	inside := ContribDir + "/" + svc + ".tar"
	if err := copyFile(tar, b.Path(inside), 0o644); err != nil {
		t.Fatalf("copy the image into the box: %v", err)
	}
	// The box's root is in memory: the tar goes once it is imported.
	defer os.Remove(b.Path(inside))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	// Errors of the box's Run include the output.
	out, err := b.RunContext(ctx, ContribDir+"/src/build", "--import", inside, svc)
	if err != nil {
		t.Fatalf("import the image %s: %v", svc, err)
	}
	// mmdebstrap's tar has /dev/console, /dev/null...: left out, with a
	// notice, not refused.
	if !strings.Contains(out, "device nodes left out") {
		t.Errorf("importing the mmdebstrap image %s said nothing of its /dev nodes:\n%s", svc, out)
	}
	t.Logf("image %s: imported in %s", svc, time.Since(start).Round(100*time.Millisecond))
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		return copyFile(path, target, info.Mode().Perm())
	})
}

func copyFile(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
