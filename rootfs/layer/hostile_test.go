package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/internal/fixture"
)

type E = fixture.Entry

// arena is a layer directory with a sibling holding a canary: anything an
// archive does outside the layer shows as a change of the arena.
type arena struct {
	top, layer, outside string
}

func newArena(t testing.TB) arena {
	top := t.TempDir()
	a := arena{top: top, layer: filepath.Join(top, "layer"), outside: filepath.Join(top, "outside")}
	for _, d := range []string{a.layer, a.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(a.outside, "canary"), []byte("canary"), 0o644); err != nil {
		t.Fatal(err)
	}
	return a
}

// outsideState lists everything outside the layer directory.
func (a arena) outsideState(t testing.TB) string {
	var lines []string
	filepath.Walk(a.top, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if p == a.layer {
			return filepath.SkipDir
		}
		line := p + " " + info.Mode().String()
		if info.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			line += " " + string(data)
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// hostileCases is the corpus: one archive per attack. refused says whether
// Unpack must refuse it; the others must succeed and stay inside.
func hostileCases() []struct {
	name    string
	data    []byte
	limits  Limits
	refused bool
} {
	bomb := fixture.Gzip(fixture.Tar(E{Name: "zeros", Body: string(make([]byte, 4<<20))}))
	long := strings.Repeat("d/", 60) + "f"
	return []struct {
		name    string
		data    []byte
		limits  Limits
		refused bool
	}{
		{"dotdot", fixture.Tar(E{Name: "../outside/evil", Body: "x"}), Limits{}, true},
		{"dotdot-inner", fixture.Tar(E{Name: "a/../../outside/evil", Body: "x"}), Limits{}, true},
		{"absolute", fixture.Tar(E{Name: "/outside/evil", Body: "x"}), Limits{}, true},
		{"symlink-parent", fixture.Tar(
			E{Name: "link", Type: tar.TypeSymlink, Link: "../outside"},
			E{Name: "link/evil", Body: "x"}), Limits{}, true},
		{"symlink-parent-absolute", fixture.Tar(
			E{Name: "etc", Type: tar.TypeSymlink, Link: "/etc"},
			E{Name: "etc/dockah-evil", Body: "x"}), Limits{}, true},
		{"symlink-chain", fixture.Tar(
			E{Name: "b", Type: tar.TypeSymlink, Link: "../outside"},
			E{Name: "a", Type: tar.TypeSymlink, Link: "b"},
			E{Name: "a/evil", Body: "x"}), Limits{}, true},
		{"hardlink-outside", fixture.Tar(E{Name: "h", Type: tar.TypeLink, Link: "../outside/canary"}), Limits{}, true},
		{"hardlink-absolute", fixture.Tar(E{Name: "h", Type: tar.TypeLink, Link: "/etc/passwd"}), Limits{}, true},
		{"hardlink-through-symlink", fixture.Tar(
			E{Name: "link", Type: tar.TypeSymlink, Link: "../outside"},
			E{Name: "h", Type: tar.TypeLink, Link: "link/canary"}), Limits{}, true},
		{"hardlink-self", fixture.Tar(E{Name: "h", Type: tar.TypeLink, Link: "h"}), Limits{}, true},
		{"whiteout-dotdot", fixture.Tar(E{Name: "../outside/.wh.canary"}), Limits{}, true},
		{"whiteout-of-parent", fixture.Tar(E{Name: "a/.wh.."}), Limits{}, true},
		{"whiteout-through-symlink", fixture.Tar(
			E{Name: "link", Type: tar.TypeSymlink, Link: "../outside"},
			E{Name: "link/.wh.canary"}), Limits{}, true},
		{"opaque-through-symlink", fixture.Tar(
			E{Name: "link", Type: tar.TypeSymlink, Link: "../outside"},
			E{Name: "link/.wh..wh..opq"}), Limits{}, true},
		{"overlay-xattr", fixture.Tar(E{Name: "d", Body: "x", Xattrs: map[string]string{"trusted.overlay.redirect": "/etc"}}), Limits{}, true},
		{"too-many-entries", fixture.Tar(E{Name: "a"}, E{Name: "b"}, E{Name: "c"}, E{Name: "d"}), Limits{MaxEntries: 3}, true},
		{"file-too-large", fixture.Tar(E{Name: "big", Body: "0123456789a"}), Limits{MaxFileSize: 10}, true},
		{"decompression-bomb", bomb, Limits{MaxTarSize: 1 << 20}, true},
		{"path-too-long", fixture.Tar(E{Name: long, Body: "x"}), Limits{MaxPathLen: 100}, true},
		{"root-as-file", fixture.Tar(E{Name: ".", Body: "x"}), Limits{}, true},
		// Accepted, but must stay inside.
		{"symlink-replaced-by-dir", fixture.Tar(
			E{Name: "a", Type: tar.TypeSymlink, Link: "../outside"},
			E{Name: "a/", Type: tar.TypeDir},
			E{Name: "a/evil", Body: "x"}), Limits{}, false},
		{"symlink-replaced-by-file", fixture.Tar(
			E{Name: "a", Type: tar.TypeSymlink, Link: "../outside/canary"},
			E{Name: "a", Body: "pwned"}), Limits{}, false},
		{"dir-replaced-by-symlink", fixture.Tar(
			E{Name: "d/", Type: tar.TypeDir, Mode: 0o700},
			E{Name: "d/f", Body: "x"},
			E{Name: "d", Type: tar.TypeSymlink, Link: "../outside"}), Limits{}, false},
		{"whiteout-replaces-symlink", fixture.Tar(
			E{Name: "a", Type: tar.TypeSymlink, Link: "../outside/canary"},
			E{Name: ".wh.a"}), Limits{}, false},
		{"dot-slash-names", fixture.Tar(E{Name: "./x/./y", Body: "y"}), Limits{}, false},
		// Device nodes are left out (TestUnpackSkipsDevices checks the tree).
		{"char-device", fixture.Tar(E{Name: "mem", Type: tar.TypeChar, Major: 1, Minor: 1}), Limits{}, false},
		{"block-device", fixture.Tar(E{Name: "sda", Type: tar.TypeBlock, Major: 8, Minor: 0}), Limits{}, false},
		{"hardlink-to-device", fixture.Tar(
			E{Name: "mem", Type: tar.TypeChar, Major: 1, Minor: 1},
			E{Name: "kmem", Type: tar.TypeLink, Link: "mem"}), Limits{}, false},
	}
}

func TestHostileArchives(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			a := newArena(t)
			before := a.outsideState(t)
			_, err := Unpack(a.layer, bytes.NewReader(tc.data), Options{Name: "sha256:hostile", Limits: tc.limits})
			if tc.refused {
				if !errors.Is(err, rootfs.ErrUnsafePath) {
					t.Fatalf("Unpack = %v, want an error wrapping ErrUnsafePath", err)
				}
				if !strings.Contains(err.Error(), "sha256:hostile") {
					t.Errorf("error %q does not name the layer", err)
				}
				if tc.name != "decompression-bomb" && !strings.Contains(err.Error(), "entry") {
					t.Errorf("error %q does not name the entry", err)
				}
			} else if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			if after := a.outsideState(t); after != before {
				t.Errorf("outside changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func FuzzUnpack(f *testing.F) {
	for _, tc := range hostileCases() {
		if len(tc.data) < 64<<10 {
			f.Add(tc.data)
		}
	}
	f.Add(fixture.Tar(fixture.Base()...))
	f.Add(fixture.Tar(fixture.Top()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := newArena(t)
		before := a.outsideState(t)
		lim := Limits{MaxEntries: 1000, MaxTarSize: 8 << 20, MaxFileSize: 1 << 20}
		Unpack(a.layer, bytes.NewReader(data), Options{Name: "fuzz", Limits: lim})
		if after := a.outsideState(t); after != before {
			t.Fatalf("outside changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		removeTestTree(a.layer)
	})
}

// removeTestTree makes directories writable so that t.TempDir's cleanup
// can remove what an unprivileged unpack left read-only.
func removeTestTree(dir string) {
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}
