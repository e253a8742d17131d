package container

import (
	"archive/tar"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dockah/dockah/tests/box"
)

// helloImage builds the static hello server and imports it into the box's
// store as a one-file root filesystem image named ref, through the CLI.
func helloImage(t *testing.T, b *box.Box, ref string) {
	t.Helper()
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./contrib/hello")
	cmd.Dir = project
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build hello: %v\n%s", err, out)
	}
	tarPath := "/opt/dockah-test/" + filepath.Base(dir) + ".tar"
	if err := writeRootfsTar(b.Path(tarPath), map[string]string{"hello": bin}); err != nil {
		t.Fatal(err)
	}
	if out, err := b.Run("dockah", "image", "import", tarPath, "--name", ref, "--entrypoint", "/hello"); err != nil {
		t.Fatalf("import hello image: %v\n%s", err, out)
	}
}

// writeRootfsTar writes a tar holding each host file at its name, mode 0755.
func writeRootfsTar(path string, files map[string]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for name, src := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
