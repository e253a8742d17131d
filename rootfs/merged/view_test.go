package merged

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMergeFollowsOverlayfs: the copied tree is what overlayfs shows of
// the layers: upper names win, whiteouts hide, opaque directories and
// non-directories end the merge of a directory.
func TestMergeFollowsOverlayfs(t *testing.T) {
	l := layers(t, 3) // l[0] on top
	// Lowest layer.
	writeFile(t, l[2], "data/kept", "bottom", 0o644)
	writeFile(t, l[2], "data/replaced", "bottom", 0o644)
	writeFile(t, l[2], "data/deleted", "bottom", 0o644)
	writeFile(t, l[2], "data/merged/bottom", "bottom", 0o644)
	writeFile(t, l[2], "data/opaque/hidden", "bottom", 0o644)
	writeFile(t, l[2], "data/under-file/hidden", "bottom", 0o644)
	writeFile(t, l[2], "data/over-file", "bottom file", 0o644)
	writeFile(t, l[2], "data/deleted-dir/hidden", "bottom", 0o644)
	// Middle layer.
	writeFile(t, l[1], "data/replaced", "middle", 0o644)
	whiteout(t, l[1], "data/deleted")
	writeFile(t, l[1], "data/merged/middle", "middle", 0o644)
	opaque(t, l[1], "data/opaque")
	writeFile(t, l[1], "data/opaque/shown", "middle", 0o644)
	writeFile(t, l[1], "data/under-file", "middle file", 0o644)
	writeFile(t, l[1], "data/over-file/below", "middle", 0o644)
	whiteout(t, l[1], "data/deleted-dir")
	// Top layer.
	writeFile(t, l[0], "data/merged/top", "top", 0o644)
	writeFile(t, l[0], "data/under-file/top", "top", 0o644)
	writeFile(t, l[0], "data/deleted-dir/new", "top", 0o644)
	writeFile(t, l[0], "data/readded", "top", 0o644)
	whiteout(t, l[1], "data/readded") // deleted in the middle, made again on top

	dst, st := copyView(t, l, "/data")
	want := lines(`deleted-dir dir
deleted-dir/new = top
kept = bottom
merged dir
merged/bottom = bottom
merged/middle = middle
merged/top = top
opaque dir
opaque/shown = middle
over-file dir
over-file/below = middle
readded = top
replaced = middle
under-file dir
under-file/top = top`)
	if diff := cmp.Diff(want, listing(t, dst)); diff != "" {
		t.Errorf("copied tree (-want +got):\n%s", diff)
	}
	if !st.Found || st.Entries != len(want) {
		t.Errorf("stats %+v, want found and %d entries", st, len(want))
	}
}

// TestResolveInsideImage: the target, or a directory on its way, may be
// a symlink of the image; it is followed inside the image only.
func TestResolveInsideImage(t *testing.T) {
	l := layers(t, 2)
	writeFile(t, l[1], "srv/data/seed", "seed", 0o644)
	symlink(t, l[1], "abs", "/srv/data")
	symlink(t, l[1], "rel", "srv/data")
	symlink(t, l[1], "escape", "../../../../../srv/data")
	symlink(t, l[1], "var/lib", "../srv")     // a directory on the way
	symlink(t, l[0], "chain", "abs")          // a link to a link, in another layer
	symlink(t, l[1], "srv/up", "../../../..") // ".." stops at the root
	symlink(t, l[0], "loop", "loop")
	symlink(t, l[0], "ping", "pong")
	symlink(t, l[0], "pong", "ping")
	writeFile(t, l[1], "file", "a file", 0o644)
	symlink(t, l[1], "dangling", "/nowhere")
	mkdir(t, l[1], "gone", 0o755)
	whiteout(t, l[0], "gone")

	for _, p := range []string{"/srv/data", "/abs", "/rel", "/escape", "/var/lib/data", "/chain", "/srv/up/srv/data", "/../srv/./data/", "srv/data"} {
		dst, st := copyView(t, l, p)
		if got := listing(t, dst); !st.Found || !cmp.Equal(got, []string{"seed = seed"}) {
			t.Errorf("%s: found %v, copied %q, want the image's /srv/data", p, st.Found, got)
		}
	}
	for _, p := range []string{"/missing", "/file", "/dangling", "/gone", "/srv/data/seed", "/file/.."} {
		dst, st := copyView(t, l, p)
		if got := listing(t, dst); st.Found || len(got) != 0 {
			t.Errorf("%s: found %v, copied %q, want nothing", p, st.Found, got)
		}
	}
	for _, p := range []string{"/loop", "/ping", "/loop/x"} {
		v, err := Open(l)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Copy(p, t.TempDir())
		v.Close()
		if !errors.Is(err, errLoop) {
			t.Errorf("%s: error %v, want %v", p, err, errLoop)
		}
	}
}

// TestTargetLinkOutsideImage: a target that is a symlink to a path the
// host has and the image does not copies nothing of the host.
func TestTargetLinkOutsideImage(t *testing.T) {
	host := t.TempDir()
	writeFile(t, host, "secret", "the host's", 0o644)
	l := layers(t, 1)
	symlink(t, l[0], "data", host)
	symlink(t, l[0], "up", "../../../../../../../../"+host)
	for _, p := range []string{"/data", "/up"} {
		dst, st := copyView(t, l, p)
		if got := listing(t, dst); st.Found || len(got) != 0 {
			t.Errorf("%s: found %v, copied %q from outside the image", p, st.Found, got)
		}
	}
}

// TestOpenMissingLayer names the layer.
func TestOpenMissingLayer(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := Open([]string{missing})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing layer: %v", err)
	}
}
