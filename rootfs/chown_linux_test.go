package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestChownVolume: a bind volume given to a range once, links never
// followed, set-ID bits kept, the range recorded; then moved to another
// range, and back to the host's IDs.
func TestChownVolume(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: chown")
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	vol, outside := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(outside, "host-file")
	must(os.WriteFile(target, nil, 0o644))
	must(os.MkdirAll(filepath.Join(vol, "a", "b"), 0o755))
	must(os.WriteFile(filepath.Join(vol, "a", "b", "f"), nil, 0o644))
	must(os.Chown(filepath.Join(vol, "a", "b", "f"), 1000, 1001))
	must(os.WriteFile(filepath.Join(vol, "suid"), nil, 0o755))
	must(os.Chmod(filepath.Join(vol, "suid"), os.ModeSetuid|0o755))
	must(os.Symlink(target, filepath.Join(vol, "link")))
	must(os.Symlink(outside, filepath.Join(vol, "dirlink")))
	must(unix.Mkfifo(filepath.Join(vol, "fifo"), 0o600))
	must(os.WriteFile(filepath.Join(vol, "beyond"), nil, 0o644))
	must(os.Chown(filepath.Join(vol, "beyond"), 70000, 70000))

	owners := func(want map[string][2]uint32) {
		t.Helper()
		for p, w := range want {
			var st unix.Stat_t
			must(unix.Lstat(p, &st))
			if st.Uid != w[0] || st.Gid != w[1] {
				t.Errorf("%s is %d:%d, want %d:%d", p, st.Uid, st.Gid, w[0], w[1])
			}
		}
	}
	r := IDRange{UID: 100000, GID: 200000, Size: 65536}
	must(s.ChownVolume("web", vol, r))
	owners(map[string][2]uint32{
		vol:                               {100000, 200000},
		filepath.Join(vol, "a", "b"):      {100000, 200000},
		filepath.Join(vol, "a", "b", "f"): {101000, 201001},
		filepath.Join(vol, "suid"):        {100000, 200000},
		filepath.Join(vol, "link"):        {100000, 200000},
		filepath.Join(vol, "dirlink"):     {100000, 200000},
		filepath.Join(vol, "fifo"):        {100000, 200000},
		filepath.Join(vol, "beyond"):      {70000, 70000}, // the range does not map it
		target:                            {0, 0},         // behind a link: untouched
		outside:                           {0, 0},
	})
	if st, err := os.Stat(filepath.Join(vol, "suid")); err != nil || st.Mode()&os.ModeSetuid == 0 {
		t.Errorf("set-user-ID bit lost: %v %v", st.Mode(), err)
	}
	if got, err := s.VolumeIDRange("web", vol); err != nil || got != r {
		t.Errorf("recorded %v, %v; want %v", got, err, r)
	}
	// Recorded: a second start walks nothing (a file put back to host
	// root meanwhile stays so).
	must(os.Chown(filepath.Join(vol, "a", "b", "f"), 0, 0))
	must(s.ChownVolume("web", vol, r))
	owners(map[string][2]uint32{filepath.Join(vol, "a", "b", "f"): {0, 0}})
	must(os.Chown(filepath.Join(vol, "a", "b", "f"), 101000, 201001))

	// Another range, then the host's IDs.
	r2 := IDRange{UID: 300000, GID: 300000, Size: 65536}
	must(s.ChownVolume("web", vol, r2))
	owners(map[string][2]uint32{vol: {300000, 300000}, filepath.Join(vol, "a", "b", "f"): {301000, 301001}})
	must(s.ChownVolume("web", vol, IDRange{}))
	owners(map[string][2]uint32{vol: {0, 0}, filepath.Join(vol, "a", "b", "f"): {1000, 1001}, filepath.Join(vol, "link"): {0, 0}})
}

// TestChownVolumeOverlayAndMounts: on overlayfs, whose files show the
// device of their layer, every file is given to the range; a mount below
// the volume is left alone.
func TestChownVolumeOverlayAndMounts(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: chown, mounts")
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"lower/sub", "upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "lower", "sub", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(dir, "merged")
	opts := "lowerdir=" + filepath.Join(dir, "lower") + ",upperdir=" + filepath.Join(dir, "upper") + ",workdir=" + filepath.Join(dir, "work")
	if err := unix.Mount("overlay", vol, "overlay", 0, opts); err != nil {
		t.Skipf("no overlayfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(vol, unix.MNT_DETACH) })
	if err := os.Mkdir(filepath.Join(vol, "mnt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", filepath.Join(vol, "mnt"), "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(filepath.Join(vol, "mnt"), unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(vol, "mnt", "g"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.ChownVolume("web", vol, IDRange{UID: 100000, GID: 100000, Size: 65536}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]uint32{"sub/f": 100000, "sub": 100000, "mnt": 0, "mnt/g": 0} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(vol, p), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != want {
			t.Errorf("%s is %d, want %d", p, st.Uid, want)
		}
	}
}
