package layer

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestDiffShiftedWritesContainerIDs: a writable layer written through a
// user namespace holds the range's IDs; its layer holds the container's,
// and IDs outside the range are kept.
func TestDiffShiftedWritesContainerIDs(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: chown")
	}
	upper := t.TempDir()
	shift := IDShift{UID: 1000000, GID: 2000000, Size: 65536}
	files := []struct {
		name             string
		uid, gid         int
		wantUID, wantGID int
	}{
		{"root-file", 1000000, 2000000, 0, 0},
		{"app-file", 1001000, 2001000, 1000, 1000},
		{"nobody-file", 1065534, 2065534, 65534, 65534},
		{"outside", 5, 7, 5, 7},
		{"past-end", 1065536, 2065536, 1065536, 2065536},
	}
	for _, f := range files {
		p := filepath.Join(upper, f.name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, f.uid, f.gid); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		shift IDShift
		host  bool
	}{{shift, false}, {IDShift{}, true}} {
		var buf bytes.Buffer
		if err := DiffShifted(&buf, upper, tt.shift); err != nil {
			t.Fatal(err)
		}
		got := map[string][2]int{}
		tr := tar.NewReader(&buf)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got[hdr.Name] = [2]int{hdr.Uid, hdr.Gid}
		}
		for _, f := range files {
			want := [2]int{f.wantUID, f.wantGID}
			if tt.host {
				want = [2]int{f.uid, f.gid}
			}
			if got[f.name] != want {
				t.Errorf("shift %+v: %s is %v, want %v", tt.shift, f.name, got[f.name], want)
			}
		}
	}
}
