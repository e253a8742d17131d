package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dockah/dockah/rootfs/internal/fixture"
	"github.com/google/go-cmp/cmp"
)

func TestSaveRoundTrip(t *testing.T) {
	for _, format := range []Format{FormatOCI, FormatDocker} {
		t.Run(string(format), func(t *testing.T) {
			a, b := twoImages(fixture.Zstd)
			st := newStore(t)
			mustImport(t, st, writeArchive(t, fixture.DockerArchive(a, b), true), ImportOptions{})
			var out bytes.Buffer
			if err := Save(st, []string{"web:latest", "app:2"}, &out, format); err != nil {
				t.Fatalf("Save: %v", err)
			}
			var again bytes.Buffer
			if err := Save(st, []string{"web:latest", "app:2"}, &again, format); err != nil {
				t.Fatalf("Save: %v", err)
			}
			if !bytes.Equal(out.Bytes(), again.Bytes()) {
				t.Errorf("two saves differ")
			}
			path := filepath.Join(t.TempDir(), "saved.tar")
			os.WriteFile(path, out.Bytes(), 0o644)
			st2 := newStore(t)
			opts := ImportOptions{All: true}
			imgs := mustImport(t, st2, path, opts)
			if len(imgs) != 2 {
				t.Fatalf("re-imported %d images", len(imgs))
			}
			for ref, want := range map[string]fixture.Image{"web:latest": a, "app:2": b} {
				img, err := st2.Resolve(ref)
				if err != nil {
					t.Fatalf("Resolve(%s): %v", ref, err)
				}
				if img.ID != want.ID() {
					t.Errorf("%s: ID %s, want %s", ref, img.ID, want.ID())
				}
				if diff := cmp.Diff(want.DiffIDs, diffIDs(img)); diff != "" {
					t.Errorf("%s: diff IDs (-want +got):\n%s", ref, diff)
				}
			}
		})
	}
}

func TestSaveRefusesChangedLayer(t *testing.T) {
	a, _ := twoImages(nil)
	st := newStore(t)
	imgs := mustImport(t, st, writeArchive(t, fixture.DockerArchive(a), true), ImportOptions{})
	os.WriteFile(filepath.Join(st.LayerTree(imgs[0].Layers[0].DiffID), "etc/passwd"), []byte("changed:x:0:0::/:/bin/sh\n"), 0o644)
	err := Save(st, []string{"web"}, &bytes.Buffer{}, FormatOCI)
	if err == nil {
		t.Fatal("Save of a changed layer succeeded")
	}
}
