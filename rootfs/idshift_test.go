package rootfs

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestShiftID(t *testing.T) {
	for _, tt := range []struct {
		id, base, size, to, toSize, want uint32
	}{
		{0, 0, 0, 100000, 65536, 100000},              // host to a range
		{1000, 0, 0, 100000, 65536, 101000},           // host to a range
		{70000, 0, 0, 100000, 65536, 70000},           // beyond the range: kept
		{100005, 100000, 65536, 0, 0, 5},              // a range to the host
		{100005, 100000, 65536, 200000, 1000, 200005}, // range to range
		{101000, 100000, 65536, 200000, 1000, 101000}, // beyond the new range: kept
		{5, 100000, 65536, 200000, 65536, 5},          // outside the old range: kept
	} {
		if got := shift(tt.id, tt.base, tt.size, tt.to, tt.toSize); got != tt.want {
			t.Errorf("shift(%d, %d+%d -> %d+%d) = %d, want %d", tt.id, tt.base, tt.size, tt.to, tt.toSize, got, tt.want)
		}
	}
}

func TestShiftWritable(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: chown")
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	upper := filepath.Join(s.Root(), "containers", "web", "upper")
	if err := os.MkdirAll(filepath.Join(upper, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	suid := filepath.Join(upper, "etc", "suid")
	if err := os.WriteFile(suid, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(suid, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(suid, os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) (int, int, os.FileMode) {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		var uid, gid int
		if sys, ok := fi.Sys().(*syscallStat); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
		return uid, gid, fi.Mode()
	}
	r := IDRange{UID: 100000, GID: 200000, Size: 65536}
	if err := s.ShiftWritable("web", r, false); err != nil {
		t.Fatal(err)
	}
	if uid, gid, mode := owner(suid); uid != 101000 || gid != 201000 || mode&os.ModeSetuid == 0 {
		t.Errorf("after the shift: %d:%d %v", uid, gid, mode)
	}
	if uid, gid, _ := owner(upper); uid != 100000 || gid != 200000 {
		t.Errorf("the layer's root is %d:%d", uid, gid)
	}
	if got, err := s.ContainerIDRange("web"); err != nil || got != r {
		t.Errorf("recorded %+v, %v", got, err)
	}
	// And back to the host's IDs.
	if err := s.ShiftWritable("web", IDRange{}, true); err != nil {
		t.Fatal(err)
	}
	if uid, gid, mode := owner(suid); uid != 1000 || gid != 1000 || mode&os.ModeSetuid == 0 {
		t.Errorf("after the shift back: %d:%d %v", uid, gid, mode)
	}
}

type syscallStat = syscall.Stat_t
