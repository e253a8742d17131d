package archive

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/internal/imageconfig"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/internal/fixture"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestImportDockerArchive(t *testing.T) {
	for _, tc := range []struct {
		name     string
		compress func([]byte) []byte
		asTar    bool
	}{
		{"tar", nil, true},
		{"dir", nil, false},
		{"gzip-layers", fixture.Gzip, true},
		{"zstd-layers", fixture.Zstd, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			a, b := twoImages(tc.compress)
			imgs := mustImport(t, st, writeArchive(t, fixture.DockerArchive(a, b), tc.asTar), ImportOptions{})
			if len(imgs) != 2 {
				t.Fatalf("imported %d images, want 2", len(imgs))
			}
			for ref, want := range map[string]fixture.Image{"example.com/web:1.0": a, "web": a, "app:2": b, a.ID(): a, b.ID()[7:19]: b} {
				img, err := st.Resolve(ref)
				if err != nil {
					t.Fatalf("Resolve(%s): %v", ref, err)
				}
				if img.ID != want.ID() {
					t.Errorf("Resolve(%s) = %s, want %s", ref, img.ID, want.ID())
				}
				if diff := cmp.Diff(want.DiffIDs, diffIDs(img)); diff != "" {
					t.Errorf("diff IDs (-want +got):\n%s", diff)
				}
			}
			if got := len(storedLayers(t, st)); got != 3 {
				t.Errorf("%d layers stored, want 3 (the base once)", got)
			}
			img, _ := st.Resolve("web")
			if _, err := os.Stat(filepath.Join(img.Layers[0].Dir, "bin/sh")); err != nil {
				t.Errorf("base layer: %v", err)
			}
			if left := tempLeft(t, st); len(left) != 0 {
				t.Errorf("tmp holds %v after the import", left)
			}
		})
	}
}

func TestImportOCILayout(t *testing.T) {
	a, b := twoImages(fixture.Gzip)
	for _, asTar := range []bool{false, true} {
		st := newStore(t)
		imgs := mustImport(t, st, writeArchive(t, fixture.OCILayout(a), asTar), ImportOptions{})
		if len(imgs) != 1 || imgs[0].ID != a.ID() {
			t.Fatalf("imported %v, want %s", imgs, a.ID())
		}
		if _, err := st.Resolve("example.com/web:1.0"); err != nil {
			t.Errorf("Resolve by ref.name: %v", err)
		}
	}
	t.Run("all", func(t *testing.T) {
		st := newStore(t)
		b.Names = []string{"app"} // no tag: app:latest
		path := writeArchive(t, fixture.OCILayout(a, b), true)
		if _, err := Import(st, path, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "--all") {
			t.Fatalf("Import of two images without --all = %v, want an error asking for --all", err)
		}
		mustImport(t, st, path, ImportOptions{All: true})
		if img, err := st.Resolve("app:latest"); err != nil || img.ID != b.ID() {
			t.Errorf("Resolve(app:latest) = %v, %v", img, err)
		}
	})
}

func TestImportPlatform(t *testing.T) {
	amd, arm := fixture.NewImage(nil, nil, fixture.Tar(fixture.Base()...)), fixture.NewImage(nil, nil, fixture.Tar(fixture.App()...))
	amd.Platform = &v1.Platform{OS: "linux", Architecture: "amd64"}
	arm.Platform = &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	files := fixture.Files{}
	nested := fixture.Index(files, false, fixture.Manifest(files, amd), fixture.Manifest(files, arm))
	nested.Annotations = map[string]string{v1.AnnotationRefName: "multi:1"}
	fixture.Index(files, true, nested)
	path := writeArchive(t, files, false)
	for _, tc := range []struct {
		platform Platform
		want     string
	}{
		{Platform{OS: "linux", Architecture: "amd64"}, amd.ID()},
		{Platform{OS: "linux", Architecture: "arm64"}, arm.ID()},
	} {
		st := newStore(t)
		imgs := mustImport(t, st, path, ImportOptions{Platform: tc.platform})
		if imgs[0].ID != tc.want {
			t.Errorf("%s: imported %s, want %s", tc.platform, imgs[0].ID, tc.want)
		}
		if _, err := st.Resolve("multi:1"); err != nil {
			t.Errorf("Resolve(multi:1): %v", err)
		}
	}
	_, err := Import(newStore(t), path, ImportOptions{Platform: Platform{OS: "linux", Architecture: "s390x"}})
	if err == nil || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("Import for s390x = %v, want an error listing the platforms", err)
	}
}

func TestImportRootfsTar(t *testing.T) {
	raw := fixture.Tar(fixture.Base()...)
	for name, data := range map[string][]byte{"tar": raw, "gzip": fixture.Gzip(raw), "zstd": fixture.Zstd(raw)} {
		t.Run(name, func(t *testing.T) {
			st := newStore(t)
			path := filepath.Join(t.TempDir(), "rootfs.tar")
			os.WriteFile(path, data, 0o644)
			if _, err := Import(st, path, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "--name") {
				t.Fatalf("Import without --name = %v", err)
			}
			cfg := v1.ImageConfig{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"-c", "true"}, Env: []string{"A=1"},
				WorkingDir: "/tmp", User: "1000:1000", ExposedPorts: map[string]struct{}{"8080/tcp": {}}}
			imgs := mustImport(t, st, path, ImportOptions{Name: "mini:1", Config: cfg})
			if diff := cmp.Diff(imageconfig.Config(cfg), imgs[0].Config.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if got := diffIDs(imgs[0]); len(got) != 1 || got[0] != fixture.Digest(raw) {
				t.Errorf("diff IDs %v, want [%s]", got, fixture.Digest(raw))
			}
		})
	}
}

func TestImportDigestMismatch(t *testing.T) {
	a, _ := twoImages(fixture.Gzip)
	t.Run("oci-blob", func(t *testing.T) {
		files := fixture.OCILayout(a)
		bad := "blobs/sha256/" + fixture.Digest(a.Blobs[1])[7:]
		files[bad] = fixture.Gzip(fixture.Tar(fixture.App()...))
		st := newStore(t)
		_, err := Import(st, writeArchive(t, files, true), ImportOptions{})
		if err == nil || !strings.Contains(err.Error(), fixture.Digest(a.Blobs[1])) {
			t.Fatalf("Import = %v, want a mismatch naming blob %s", err, fixture.Digest(a.Blobs[1]))
		}
		checkNothingVisible(t, st)
	})
	t.Run("docker-diff-id", func(t *testing.T) {
		files := fixture.DockerArchive(a)
		files[a.DiffIDs[1][7:]+"/layer.tar"] = fixture.Tar(fixture.App()...)
		st := newStore(t)
		_, err := Import(st, writeArchive(t, files, true), ImportOptions{})
		if err == nil || !strings.Contains(err.Error(), a.DiffIDs[1]) {
			t.Fatalf("Import = %v, want a mismatch naming layer %s", err, a.DiffIDs[1])
		}
		checkNothingVisible(t, st)
	})
	t.Run("config", func(t *testing.T) {
		files := fixture.DockerArchive(a)
		files[a.ID()[7:]+".json"] = append(a.Config, ' ')
		_, err := Import(newStore(t), writeArchive(t, files, true), ImportOptions{})
		if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
			t.Fatalf("Import = %v, want a config digest mismatch", err)
		}
	})
}

// checkNothingVisible checks that a failed import left no image and no
// work behind.
func checkNothingVisible(t *testing.T, st *rootfs.Store) {
	t.Helper()
	list, err := st.List()
	if err != nil || len(list) != 0 {
		t.Errorf("List = %v, %v; want no image", list, err)
	}
	if left := tempLeft(t, st); len(left) != 0 {
		t.Errorf("tmp holds %v", left)
	}
}

func TestImportHostileLayerNamesDigest(t *testing.T) {
	hostile := fixture.Tar(fixture.Entry{Name: "../evil", Body: "x"})
	img := fixture.NewImage([]string{"evil"}, nil, hostile)
	_, err := Import(newStore(t), writeArchive(t, fixture.DockerArchive(img), true), ImportOptions{})
	if !errors.Is(err, rootfs.ErrUnsafePath) || !strings.Contains(err.Error(), img.DiffIDs[0]) || !strings.Contains(err.Error(), "../evil") {
		t.Fatalf("Import = %v, want ErrUnsafePath naming the layer and the entry", err)
	}
}

func TestImportHostileMemberNames(t *testing.T) {
	a, _ := twoImages(nil)
	files := fixture.DockerArchive(a)
	data := strings.Replace(string(files["manifest.json"]), a.DiffIDs[0][7:]+"/layer.tar", "../../../../etc/passwd", 1)
	files["manifest.json"] = []byte(data)
	for _, asTar := range []bool{true, false} {
		_, err := Import(newStore(t), writeArchive(t, files, asTar), ImportOptions{})
		if err == nil {
			t.Fatalf("Import of a manifest naming ../../etc/passwd succeeded")
		}
	}
}
