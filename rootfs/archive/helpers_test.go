package archive

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/internal/fixture"
)

func newStore(t testing.TB) *rootfs.Store {
	t.Helper()
	st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chmodTree(st.Root()) })
	return st
}

// chmodTree makes directories writable so that t.TempDir's cleanup can
// remove read-only directories an unprivileged unpack left.
func chmodTree(dir string) {
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() && info.Mode()&0o200 == 0 {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// writeArchive writes files as a tar (asTar) or a directory and returns
// its path.
func writeArchive(t testing.TB, files fixture.Files, asTar bool) string {
	t.Helper()
	if !asTar {
		dir := filepath.Join(t.TempDir(), "layout")
		if err := fixture.WriteDir(dir, files); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	p := filepath.Join(t.TempDir(), "archive.tar")
	if err := os.WriteFile(p, fixture.TarOf(files), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustImport(t testing.TB, st *rootfs.Store, path string, opts ImportOptions) []*rootfs.Image {
	t.Helper()
	imgs, err := Import(st, path, opts)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return imgs
}

func diffIDs(img *rootfs.Image) []string {
	var out []string
	for _, l := range img.Layers {
		out = append(out, l.DiffID)
	}
	return out
}

// storedLayers lists the layer directories of the store.
func storedLayers(t testing.TB, st *rootfs.Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(st.Root(), "layers/sha256"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, "sha256:"+e.Name())
	}
	sort.Strings(out)
	return out
}

// tempLeft lists what is left in the store's tmp directory.
func tempLeft(t testing.TB, st *rootfs.Store) []string {
	entries, _ := os.ReadDir(filepath.Join(st.Root(), "tmp"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// twoImages are two images sharing a base layer, the first with two tags.
func twoImages(compress func([]byte) []byte) (fixture.Image, fixture.Image) {
	base, top, app := fixture.Tar(fixture.Base()...), fixture.Tar(fixture.Top()...), fixture.Tar(fixture.App()...)
	a := fixture.NewImage([]string{"example.com/web:1.0", "web:latest"}, compress, base, top)
	b := fixture.NewImage([]string{"app:2"}, compress, base, app)
	return a, b
}
