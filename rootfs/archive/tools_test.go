package archive

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/internal/fixture"
	"github.com/dockah/dockah/tests/testenv"
	"github.com/google/go-cmp/cmp"
)

// Round trips through skopeo and umoci, real tools from Debian that no one
// here wrote: they read what Save writes, and Import reads what they write.

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

func saveTo(t *testing.T, st *rootfs.Store, ref string, format Format) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Save(st, []string{ref}, &buf, format); err != nil {
		t.Fatalf("Save: %v", err)
	}
	p := filepath.Join(t.TempDir(), "saved.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSkopeoRoundTrip(t *testing.T) {
	testenv.RequireCommand(t, "skopeo")
	a, _ := twoImages(fixture.Gzip)
	st := newStore(t)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(a), true), ImportOptions{})
	for _, tc := range []struct {
		format      Format
		src, dstFmt string
	}{
		{FormatDocker, "docker-archive:", "oci:"},
		{FormatOCI, "oci-archive:", "docker-archive:"},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			saved := saveTo(t, st, "web:latest", tc.format)
			var info struct{ Layers []string }
			if err := json.Unmarshal(run(t, "skopeo", "inspect", tc.src+saved), &info); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(a.DiffIDs, info.Layers); diff != "" {
				t.Errorf("skopeo inspect layers (-want +got):\n%s", diff)
			}
			// skopeo rewrites it in the other format; we import that.
			dst := filepath.Join(t.TempDir(), "copy")
			if tc.dstFmt == "docker-archive:" {
				dst += ".tar"
			}
			run(t, "skopeo", "copy", "--quiet", tc.src+saved, tc.dstFmt+dst+":copied:1")
			st2 := newStore(t)
			imgs := mustImport(t, st2, dst, ImportOptions{})
			if diff := cmp.Diff(a.DiffIDs, diffIDs(imgs[0])); diff != "" {
				t.Errorf("diff IDs after skopeo copy (-want +got):\n%s", diff)
			}
			if _, err := st2.Resolve("copied:1"); err != nil {
				t.Errorf("name given to skopeo: %v", err)
			}
		})
	}
}

func TestUmociRoundTrip(t *testing.T) {
	testenv.RequireRoot(t) // umoci unpack without --rootless needs root
	testenv.RequireCommand(t, "umoci", "tar")
	a, _ := twoImages(fixture.Zstd)
	st := newStore(t)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(a), true), ImportOptions{})
	layout := filepath.Join(t.TempDir(), "oci")
	os.Mkdir(layout, 0o755)
	run(t, "tar", "-C", layout, "-xf", saveTo(t, st, "web:latest", FormatOCI))

	// umoci applies our layers, whiteouts and opaque directory included.
	bundle := filepath.Join(t.TempDir(), "bundle")
	run(t, "umoci", "unpack", "--image", layout+":web:latest", bundle)
	rootDir := filepath.Join(bundle, "rootfs")
	for p, want := range map[string]bool{"bin/sh": true, "etc/gone": false, "etc/old/a": false, "etc/old/b": true, "home/web/hard": true} {
		if _, err := os.Lstat(filepath.Join(rootDir, p)); (err == nil) != want {
			t.Errorf("umoci unpack: %s exists = %v, want %v", p, err == nil, want)
		}
	}
	// umoci writes a new gzip layer; we import its image.
	os.WriteFile(filepath.Join(rootDir, "added-by-umoci"), []byte("umoci"), 0o644)
	os.Remove(filepath.Join(rootDir, "etc/passwd"))
	run(t, "umoci", "repack", "--image", layout+":umoci", bundle)
	imgs := mustImport(t, st, layout, ImportOptions{All: true})
	var img *rootfs.Image
	for _, i := range imgs {
		if len(i.Layers) == 3 {
			img = i
		}
	}
	if img == nil {
		t.Fatalf("no 3-layer image among %d imported", len(imgs))
	}
	top := img.Layers[2].Dir
	if data, err := os.ReadFile(filepath.Join(top, "added-by-umoci")); err != nil || string(data) != "umoci" {
		t.Errorf("added-by-umoci = %q, %v", data, err)
	}
	var fi os.FileInfo
	if fi, _ = os.Lstat(filepath.Join(top, "etc/passwd")); fi == nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("etc/passwd is not a whiteout in umoci's layer")
	}
	if _, err := st.Resolve("umoci:latest"); err != nil {
		t.Errorf("Resolve(umoci): %v", err)
	}
}
