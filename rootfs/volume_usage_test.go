package rootfs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestVolumes(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if names, err := s.Volumes(); err != nil || len(names) != 0 {
		t.Fatalf("a new store has volumes %v (%v)", names, err)
	}
	for _, f := range []struct{ name, data string }{
		{"data/_data/a", "hello"},
		{"data/_data/sub/b", "0123456789"},
		{"cache/_data/c", "xyz"},
	} {
		p := filepath.Join(s.VolumeDir(), f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A hard link counts once, a symlink not at all.
	if err := os.Link(filepath.Join(s.VolumeDir(), "data/_data/a"), filepath.Join(s.VolumeDir(), "data/_data/a2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(s.VolumeDir(), "data/_data/link")); err != nil {
		t.Fatal(err)
	}
	names, err := s.Volumes()
	if err != nil || !slices.Equal(names, []string{"cache", "data"}) {
		t.Fatalf("Volumes() = %v, %v", names, err)
	}
	if n, err := s.VolumeSize("data"); err != nil || n != 15 {
		t.Errorf("VolumeSize(data) = %d, %v; want 15", n, err)
	}
	if n, err := s.VolumeSize("gone"); err != nil || n != 0 {
		t.Errorf("VolumeSize(gone) = %d, %v; want 0", n, err)
	}
	if err := s.RemoveVolume("data"); err != nil {
		t.Fatal(err)
	}
	if names, _ := s.Volumes(); !slices.Equal(names, []string{"cache"}) {
		t.Errorf("after RemoveVolume(data): %v", names)
	}
	if entries, _ := os.ReadDir(s.path(dirTemp)); len(entries) != 0 {
		t.Errorf("RemoveVolume left %d entries in tmp/", len(entries))
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if err := s.RemoveVolume(bad); err == nil {
			t.Errorf("RemoveVolume(%q) was accepted", bad)
		}
	}
	if err := s.RemoveVolume("nosuch"); err == nil {
		t.Error("removing a volume that does not exist succeeded")
	}
}
