package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// testImages are the images of newTestStore: web:1 is also named
// localhost/spare:1, and worker:2 shares web's only layer.
var testImages = []struct{ name, entrypoint string }{
	{"docker.io/library/web:1", "/web"},
	{"docker.io/library/worker:2", "/worker"},
}

// newTestStore makes a store with testImages, each made from the same
// one-file root filesystem tar, and returns its root and the image IDs by
// name.
func newTestStore(t *testing.T) (string, map[string]string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "store")
	st, err := rootfs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(src, rootfsTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, img := range testImages {
		opts := archive.ImportOptions{Name: img.name, Config: v1.ImageConfig{Entrypoint: []string{img.entrypoint}}}
		imgs, err := archive.Import(st, src, opts)
		if err != nil {
			t.Fatal(err)
		}
		ids[img.name] = imgs[0].ID
	}
	if err := st.Tag("web:1", "spare:1"); err != nil {
		t.Fatal(err)
	}
	return root, ids
}

// rootfsTar is a root filesystem tar holding /hello.
func rootfsTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: 2}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("hi"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dockahIO runs the command line with the given stdin and stdout, and
// returns stderr and the error.
func dockahIO(t *testing.T, stdin io.Reader, stdout io.Writer, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var stderr bytes.Buffer
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return stderr.String(), err
}
