package inventory

import (
	"archive/tar"
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
)

// importFiles imports a root filesystem tar of files into st as name.
func importFiles(t testing.TB, st *rootfs.Store, name string, files map[string]string) *rootfs.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// In name order: the same files make the same layer.
	for _, p := range slices.Sorted(maps.Keys(files)) {
		data := files[p]
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(data))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	imgs, err := archive.Import(st, src, archive.ImportOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return imgs[0]
}

// TestCache: an inventory is computed once per layer chain, read back
// after, and computed again when its cache entry is corrupt or of
// another schema.
func TestCache(t *testing.T) {
	st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"etc/os-release": debianRelease, "var/lib/dpkg/status": zlibStanza}
	img := importFiles(t, st, "zlib:1", files)
	inv, cached, err := Of(st, img, Options{})
	if err != nil || cached {
		t.Fatalf("first inventory: cached %v, %v", cached, err)
	}
	if inv.ChainID != img.Layers[0].DiffID || len(inv.Packages) != 1 {
		t.Fatalf("chain %s, packages %+v", inv.ChainID, inv.Packages)
	}
	entry := filepath.Join(st.Root(), CacheDir, inv.ChainID[len("sha256:"):]+".json")
	if fi, err := os.Stat(entry); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache entry: %v, %v", fi, err)
	}
	if fi, _ := os.Stat(filepath.Dir(entry)); fi.Mode().Perm() != 0o700 {
		t.Errorf("cache directory mode %v, want 0700", fi.Mode().Perm())
	}
	again, cached, err := Of(st, img, Options{})
	if err != nil || !cached || len(again.Packages) != 1 {
		t.Fatalf("second inventory: cached %v, %v, %+v", cached, err, again)
	}
	// Another name, the same layers: the same entry.
	same := importFiles(t, st, "zlib:again", files)
	if _, cached, _ := Of(st, same, Options{}); !cached {
		t.Error("an image of the same layers is inventoried again")
	}
	for name, data := range map[string]string{
		"truncated":      `{"schema":1,"chainID":"`,
		"another schema": `{"schema":999,"chainID":"` + inv.ChainID + `","databases":[],"packages":[]}`,
		"another chain":  `{"schema":1,"chainID":"sha256:00","databases":[],"packages":[]}`,
		"not json":       "\x00\x01",
	} {
		if err := os.WriteFile(entry, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		inv, cached, err := Of(st, img, Options{})
		if err != nil || cached || len(inv.Packages) != 1 {
			t.Errorf("%s entry: cached %v, %v, %d packages; want it computed again", name, cached, err, len(inv.Packages))
		}
		if _, cached, _ := Of(st, img, Options{}); !cached {
			t.Errorf("%s entry: not written again", name)
		}
	}
	// A symlink in the entry's place is not followed.
	os.Remove(entry)
	if err := os.Symlink("/etc/passwd", entry); err != nil {
		t.Fatal(err)
	}
	if _, cached, err := Of(st, img, Options{}); err != nil || cached {
		t.Errorf("symlinked entry: cached %v, %v", cached, err)
	}

	if err := PruneCache(st, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(entry); !os.IsNotExist(err) {
		t.Errorf("pruned entry: %v", err)
	}
}

func TestChainID(t *testing.T) {
	a := "sha256:" + string(bytes.Repeat([]byte("a"), 64))
	b := "sha256:" + string(bytes.Repeat([]byte("b"), 64))
	if ChainID([]string{a}) != a || ChainID(nil) != "" {
		t.Error("the chain of one layer is its diff ID")
	}
	// sha256("sha256:aaa… sha256:bbb…"), as the OCI image spec defines it.
	if got, want := ChainID([]string{a, b}), "sha256:"+sha256Hex(a+" "+b); got != want {
		t.Errorf("chain %s, want %s", got, want)
	}
}
