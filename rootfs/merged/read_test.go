package merged

import (
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWalkAndOpen: Walk lists what overlayfs shows, with the layer that
// shows each entry; Lookup and Open follow the image's symlinks inside
// the image only, and a loop is an error, not a hang.
func TestWalkAndOpen(t *testing.T) {
	l := layers(t, 2) // l[0] on top
	writeFile(t, l[1], "usr/lib/libz.so.1.2.11", "old", 0o644)
	writeFile(t, l[1], "usr/lib/gone", "gone", 0o644)
	symlink(t, l[1], "lib", "usr/lib")
	symlink(t, l[1], "etc/escape", "../../../../etc/hostname")
	writeFile(t, l[1], "etc/hostname", "the image's", 0o644)
	writeFile(t, l[0], "usr/lib/libz.so.1.2.11", "new", 0o644)
	whiteout(t, l[0], "usr/lib/gone")
	symlink(t, l[0], "loop/a", "b")
	symlink(t, l[0], "loop/b", "a")

	v, err := Open(l)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	var walked []string
	layerOfLib := -1
	err = v.Walk("/", func(f File) error {
		walked = append(walked, f.Path)
		if f.Path == "/usr/lib/libz.so.1.2.11" {
			layerOfLib = f.Layer
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/etc", "/lib", "/loop", "/usr", "/etc/escape", "/etc/hostname", "/loop/a", "/loop/b", "/usr/lib", "/usr/lib/libz.so.1.2.11"}
	if diff := cmp.Diff(want, walked); diff != "" {
		t.Errorf("walked (-want +got):\n%s", diff)
	}
	if layerOfLib != 0 {
		t.Errorf("libz.so.1.2.11 shown by layer %d, want the top one, 0", layerOfLib)
	}

	for p, want := range map[string]string{
		"/lib/libz.so.1.2.11":          "new",
		"/usr/../lib/./libz.so.1.2.11": "new",
		"/etc/escape":                  "the image's",
	} {
		file, f, err := v.OpenPath(p)
		if err != nil {
			t.Errorf("Open(%q): %v", p, err)
			continue
		}
		data, _ := io.ReadAll(file)
		file.Close()
		if string(data) != want {
			t.Errorf("Open(%q) read %q (%s), want %q", p, data, f.Path, want)
		}
	}
	if _, _, err := v.OpenPath("/lib/gone"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a whited-out file: %v, want not found", err)
	}
	if _, _, err := v.OpenPath("/loop/a"); !errors.Is(err, errLoop) {
		t.Errorf("Open of a symlink loop: %v, want %v", err, errLoop)
	}
	if _, _, err := v.OpenPath("/lib"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Open of a directory: %v, want %v", err, ErrNotRegular)
	}
	if got, ok, err := v.Dir("/lib"); err != nil || !ok || got != "/usr/lib" {
		t.Errorf("Dir(/lib) = %q, %v, %v; want /usr/lib", got, ok, err)
	}
}
