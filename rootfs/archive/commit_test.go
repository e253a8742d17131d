package archive

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/internal/fixture"
)

func TestCommit(t *testing.T) {
	a, _ := twoImages(nil)
	st := newStore(t)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(a), true), ImportOptions{})
	plan, err := st.MountPlan("web", "box", rootfs.MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// What a container leaves in its upper dir: a new file, a whiteout
	// (a deleted file) and an opaque directory.
	must(t, os.MkdirAll(filepath.Join(plan.Upper, "srv/data"), 0o755))
	must(t, os.WriteFile(filepath.Join(plan.Upper, "srv/data/new"), []byte("new"), 0o600))
	must(t, os.Link(filepath.Join(plan.Upper, "srv/data/new"), filepath.Join(plan.Upper, "srv/data/new-link")))
	must(t, os.MkdirAll(filepath.Join(plan.Upper, "bin"), 0o755))
	must(t, unix.Mknod(filepath.Join(plan.Upper, "bin/su"), unix.S_IFCHR, 0))
	must(t, os.MkdirAll(filepath.Join(plan.Upper, "usr/lib"), 0o755))
	opaque := "user.overlay.opaque"
	if os.Geteuid() == 0 {
		opaque = "trusted.overlay.opaque"
	}
	must(t, unix.Setxattr(filepath.Join(plan.Upper, "usr/lib"), opaque, []byte("y"), 0))

	img, err := Commit(st, "box", "web:committed", CommitOptions{Message: "test"})
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if len(img.Layers) != 3 {
		t.Fatalf("%d layers, want 3", len(img.Layers))
	}
	var cfg v1.Image
	if err := json.Unmarshal(img.RawConfig, &cfg); err != nil || len(cfg.History) == 0 {
		t.Fatalf("committed config %s: %v", img.RawConfig, err)
	}
	last := cfg.History[len(cfg.History)-1]
	if last.CreatedBy != "dockah commit box" || last.Comment != "test" {
		t.Errorf("history entry %+v", last)
	}
	top := img.Layers[2].Dir
	if data, err := os.ReadFile(filepath.Join(top, "srv/data/new")); err != nil || string(data) != "new" {
		t.Errorf("srv/data/new = %q, %v", data, err)
	}
	var st1, st2 unix.Stat_t
	unix.Lstat(filepath.Join(top, "srv/data/new"), &st1)
	unix.Lstat(filepath.Join(top, "srv/data/new-link"), &st2)
	if st1.Ino != st2.Ino {
		t.Errorf("hardlink lost")
	}
	if err := unix.Lstat(filepath.Join(top, "bin/su"), &st1); err != nil || st1.Mode&unix.S_IFMT != unix.S_IFCHR || st1.Rdev != 0 {
		t.Errorf("bin/su is not a whiteout in the committed layer: %v", err)
	}
	buf := make([]byte, 4)
	if n, err := unix.Lgetxattr(filepath.Join(top, "usr/lib"), opaque, buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("usr/lib not opaque in the committed layer: %v", err)
	}
	// The committed image saves and re-imports with the same digests.
	var out bytes.Buffer
	if err := Save(st, []string{"web:committed"}, &out, FormatOCI); err != nil {
		t.Fatalf("Save: %v", err)
	}
	path := filepath.Join(t.TempDir(), "c.tar")
	os.WriteFile(path, out.Bytes(), 0o644)
	again := mustImport(t, newStore(t), path, ImportOptions{})
	if again[0].ID != img.ID {
		t.Errorf("re-imported %s, want %s", again[0].ID, img.ID)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCommitReadOnly: a container planned with a read-only root has no
// upper dir; Commit says so instead of failing to read it.
func TestCommitReadOnly(t *testing.T) {
	a, _ := twoImages(nil)
	st := newStore(t)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(a), true), ImportOptions{})
	if _, err := st.MountPlan("web", "ro", rootfs.MountOptions{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	var events int
	_, err := Commit(st, "ro", "web:committed", CommitOptions{Progress: func(Event) { events++ }})
	if !errors.Is(err, ErrNoWritableLayer) || err.Error() != "container ro has no writable layer: nothing to commit" {
		t.Fatalf("Commit of a read-only container = %v, want ErrNoWritableLayer", err)
	}
	if events != 0 {
		t.Errorf("%d progress events before the error", events)
	}
	if _, err := st.Resolve("web:committed"); !errors.Is(err, rootfs.ErrNotFound) {
		t.Errorf("web:committed after a failed commit: %v", err)
	}
}
