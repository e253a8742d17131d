package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// addTestImage stores an image of n layers (each holding one file) named
// ref, the way an import does but without archives.
func addTestImage(t testing.TB, s *Store, ref string, n int) *Image {
	t.Helper()
	cfg := v1.Image{RootFS: v1.RootFS{Type: "layers"}, Config: v1.ImageConfig{Cmd: []string{"/bin/true"}}}
	for i := 0; i < n; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s layer %d", ref, i)))
		diffID := "sha256:" + hex.EncodeToString(sum[:])
		if !s.HasLayer(diffID) {
			tmp, err := s.TempDir()
			if err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(tmp.Path, "diff"), 0o755)
			os.WriteFile(filepath.Join(tmp.Path, "diff", fmt.Sprint(i)), nil, 0o644)
			if _, err := s.InstallLayer(tmp, LayerInfo{DiffID: diffID}); err != nil {
				t.Fatal(err)
			}
			tmp.Remove()
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.Digest(diffID))
	}
	data, _ := json.Marshal(cfg)
	r, err := ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.AddImage(data, []Reference{r})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func openTestStore(t testing.TB) *Store {
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMountPlan(t *testing.T) {
	s := openTestStore(t)
	img := addTestImage(t, s, "app:1", 3)
	plan, err := s.MountPlan("app:1", "web", MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.ImageID != img.ID || len(plan.Lower) != 3 {
		t.Fatalf("plan %+v", plan)
	}
	// Topmost first: the last layer holds file "2".
	if _, err := os.Stat(filepath.Join(plan.Lower[0], "2")); err != nil {
		t.Errorf("lower[0] is not the top layer: %v", err)
	}
	for _, d := range append(plan.Lower, plan.Upper, plan.Work) {
		if !filepath.IsAbs(d) {
			t.Errorf("%s is not absolute", d)
		}
		if info, err := os.Stat(d); err != nil || !info.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if len(plan.Lower[0]) != len(s.Root())+len("/l/")+12 {
		t.Errorf("lower dir %s is not a short link", plan.Lower[0])
	}
	want := "lowerdir=" + strings.Join(plan.Lower, ":") + ",upperdir=" + plan.Upper + ",workdir=" + plan.Work
	if plan.Data() != want {
		t.Errorf("Data() = %q, want %q", plan.Data(), want)
	}
	if id, err := s.ContainerImage("web"); err != nil || id != img.ID {
		t.Errorf("ContainerImage = %s, %v", id, err)
	}

	os.WriteFile(filepath.Join(plan.Upper, "kept"), nil, 0o644)
	plan, _ = s.MountPlan("app:1", "web", MountOptions{})
	if _, err := os.Stat(filepath.Join(plan.Upper, "kept")); err != nil {
		t.Errorf("persistent upper lost its file: %v", err)
	}
	plan, _ = s.MountPlan("app:1", "web", MountOptions{Ephemeral: true})
	if _, err := os.Stat(filepath.Join(plan.Upper, "kept")); err == nil {
		t.Errorf("ephemeral upper kept its file")
	}
	// A layer last mounted volatile (as an ephemeral container's is)
	// starts empty when the container no longer is ephemeral: overlayfs
	// would refuse its work directory, and it was never synced.
	os.WriteFile(filepath.Join(plan.Upper, "unsynced"), nil, 0o644)
	os.MkdirAll(filepath.Join(plan.Work, "work", "incompat", "volatile"), 0o700)
	plan, _ = s.MountPlan("app:1", "web", MountOptions{})
	if _, err := os.Stat(filepath.Join(plan.Upper, "unsynced")); err == nil {
		t.Errorf("the upper of a volatile mount was kept")
	}
	if _, err := os.Stat(filepath.Join(plan.Work, "work", "incompat")); err == nil {
		t.Errorf("the volatile mount's work directory was kept")
	}
	plan, _ = s.MountPlan("app:1", "web", MountOptions{ReadOnly: true})
	if plan.Upper != "" || plan.Work != "" || strings.Contains(plan.Data(), "upperdir") {
		t.Errorf("read-only plan has an upper: %+v", plan)
	}
}

func TestMountPlanErrors(t *testing.T) {
	s := openTestStore(t)
	addTestImage(t, s, "app:1", 1)
	for _, tc := range []struct{ ref, container string }{
		{"missing:1", "web"},
		{"app:1", "../etc"},
		{"app:1", ""},
		{"app:1", "a/b"},
	} {
		if _, err := s.MountPlan(tc.ref, tc.container, MountOptions{}); err == nil {
			t.Errorf("MountPlan(%q, %q) succeeded", tc.ref, tc.container)
		}
	}
	if _, err := s.MountPlan("missing:1", "web", MountOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("MountPlan of a missing image = %v, want ErrNotFound", err)
	}
}

func TestMountPlanEscapesAndLimits(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "a:b,c"))
	if err != nil {
		t.Fatal(err)
	}
	addTestImage(t, s, "app:1", 1)
	plan, err := s.MountPlan("app:1", "web", MountOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.Data(), `a\:b\,c`) {
		t.Errorf("Data() = %q: ':' and ',' not escaped", plan.Data())
	}
	addTestImage(t, s, "huge:1", 200)
	if _, err := s.MountPlan("huge:1", "web", MountOptions{}); err == nil || !strings.Contains(err.Error(), "4095") {
		t.Errorf("MountPlan of 200 layers = %v, want the mount options limit", err)
	}
}

func TestResolve(t *testing.T) {
	s := openTestStore(t)
	img := addTestImage(t, s, "docker.io/library/nginx:1", 1)
	hex := img.ID[len("sha256:"):]
	for _, ref := range []string{"nginx:1", "docker.io/library/nginx:1", img.ID, hex, hex[:12], "sha256:" + hex[:8]} {
		got, err := s.Resolve(ref)
		if err != nil || got.ID != img.ID {
			t.Errorf("Resolve(%q) = %v, %v", ref, got, err)
		}
	}
	for _, ref := range []string{"nginx", "nginx:2", "abc", "sha256:zz"} {
		if _, err := s.Resolve(ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Resolve(%q) = %v, want ErrNotFound", ref, err)
		}
	}
}

// BenchmarkMountPlan measures what the activation shim does at every
// container start: Open, Resolve and MountPlan of a 10-layer image.
func BenchmarkMountPlan(b *testing.B) {
	root := filepath.Join(b.TempDir(), "store")
	s, _ := Open(root)
	addTestImage(b, s, "app:1", 10)
	// The first plan creates the writable layer and records the image
	// (with fsync); later starts find them.
	if _, err := s.MountPlan("app:1", "web", MountOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(root)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.MountPlan("app:1", "web", MountOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRemoveContainer(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(s.Root(), "containers", "run-1", "upper", "etc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveContainer("run-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "containers", "run-1")); !os.IsNotExist(err) {
		t.Errorf("the container's directory is still there: %v", err)
	}
	if err := s.RemoveContainer("run-1"); err != nil {
		t.Errorf("removing a container twice: %v", err)
	}
	if err := s.RemoveContainer("../x"); err == nil {
		t.Error("a name that is not one path element must be refused")
	}
}

// An empty writable layer is discarded into tmp/, for the next start to
// remove, unless maxDiscarded wait there already; SweepDiscarded removes
// at least one, then stops when told. One with something in it is
// removed at once.
func TestDiscardContainer(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	discard := func(name string, dirs ...string) {
		t.Helper()
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(s.Root(), "containers", name, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DiscardContainer(name); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(s.Root(), "containers", name)); !os.IsNotExist(err) {
			t.Errorf("%s: the container's directory is still there: %v", name, err)
		}
	}
	for _, name := range []string{"run-1", "run-2", "run-3"} {
		discard(name, "upper", "work/work/incompat/volatile")
	}
	discard("run-4", "upper/etc", "work/work")
	discarded := func() []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(s.Root(), "tmp", "discard-run-*"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if got := discarded(); len(got) != 3 {
		t.Fatalf("discarded layers: %v, want three (not run-4's, which held a file)", got)
	}
	for i := 5; i < 5+maxDiscarded; i++ {
		discard(fmt.Sprintf("run-%d", i), "upper", "work/work")
	}
	if got := discarded(); len(got) != maxDiscarded {
		t.Fatalf("discarded layers: %v, want no more than %d", got, maxDiscarded)
	}
	stopped := make(chan struct{})
	close(stopped)
	if err := s.SweepDiscarded(stopped); err != nil {
		t.Fatal(err)
	}
	if got := discarded(); len(got) != maxDiscarded-1 {
		t.Errorf("a sweep told to stop at once left %v, want all but one", got)
	}
	// One that is locked is someone's work in progress, not a leftover.
	held := discarded()[0]
	f, err := os.Open(held)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := s.SweepDiscarded(make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	if got := discarded(); len(got) != 1 || got[0] != held {
		t.Errorf("after a sweep: %v, want only the locked %s", got, held)
	}
}

// BenchmarkResolve is a start's lookup of a short name: the short-name
// record, the candidate references, the image record and its config.
func BenchmarkResolve(b *testing.B) {
	s, _ := Open(filepath.Join(b.TempDir(), "store"))
	addTestImage(b, s, "localhost/app:1", 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Resolve("app:1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWritable is what a start from a start plan pays for its root:
// the lock, the image's record still there, the writable layer found.
func BenchmarkWritable(b *testing.B) {
	s, _ := Open(filepath.Join(b.TempDir(), "store"))
	img := addTestImage(b, s, "app:1", 10)
	plan, err := s.MountPlan("app:1", "web", MountOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Writable(img.ID, plan.Lower, "web", MountOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWritableTransient: a transient container's record is written (not
// synced) and read back alike.
func TestWritableTransient(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), "store"))
	img := addTestImage(t, s, "app:1", 1)
	plan, err := s.Writable(img.ID, nil, "run-1", MountOptions{Transient: true})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.ContainerImage("run-1"); err != nil || id != img.ID || plan.Upper == "" {
		t.Errorf("record %q, %v; upper %q", id, err, plan.Upper)
	}
	if _, err := s.Writable("sha256:"+strings.Repeat("0", 64), nil, "run-2", MountOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("an image not stored: %v", err)
	}
}
