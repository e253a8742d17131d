package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
)

// importImage imports a one-file root filesystem named name into st and
// returns its ID; the file holds the name, so every name is its own image.
func importImage(t *testing.T, st *rootfs.Store, name string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: int64(len(name))}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(name))
	tw.Close()
	src := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	imgs, err := archive.Import(st, src, archive.ImportOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return imgs[0].ID
}

// writeTree writes files (paths relative to root) and returns root.
func writeTree(t *testing.T, root string, files map[string]string) string {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// imageRmFixture is a store and a system root whose definitions use its
// images in every way a definition can.
func imageRmFixture(t *testing.T) (store, root string) {
	t.Helper()
	store = filepath.Join(t.TempDir(), "store")
	st, err := rootfs.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tools:latest", "hidden:1", "old:1", "dropin:1", "tmplold:1", "tmpl:1", "blue:1", "app:v2", "other:v2", "layer:1"} {
		importImage(t, st, name)
	}
	byID := importImage(t, st, "byid:1")
	if err := st.Tag("tools:latest", "spare:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.MountPlan("layer:1", "gone", rootfs.MountOptions{}); err != nil {
		t.Fatal(err)
	}
	image := func(ref string) string { return "[container]\nimage = \"" + ref + "\"\n" }
	root = writeTree(t, t.TempDir(), map[string]string{
		// A definition in /etc hides the one of the same name in /usr/lib.
		"etc/dockah/containers/t1.toml":     image("tools:latest"),
		"usr/lib/dockah/containers/t1.toml": image("hidden:1"),
		// A drop-in sets the image.
		"run/dockah/containers/base.toml":                 image("old:1"),
		"etc/dockah/containers/base.toml.d/50-image.toml": image("dropin:1"),
		// A template with a drop-in, and an instance with its own.
		"etc/dockah/containers/web@.toml":                  image("tmplold:1"),
		"etc/dockah/containers/web@.toml.d/10-image.toml":  image("tmpl:1"),
		"etc/dockah/containers/web@blue.toml.d/90-me.toml": image("blue:1"),
		// A template whose instance picks the tag.
		"etc/dockah/containers/app@.toml": image("app:%i"),
		// An image named by ID.
		"etc/dockah/containers/pinned.toml": image(byID),
		"etc/dockah/containers/broken.toml": "[container]\nimage = \n",
	})
	return store, root
}

func TestImageRemoveInUse(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// by is who uses the image; empty when the removal goes ahead.
		by string
	}{
		{name: "plain definition", args: []string{"tools:latest"}, by: "definition t1"},
		{name: "image ID of a used image", args: []string{"tools"}, by: "definition t1"},
		{name: "another name of a used image", args: []string{"spare:1"}},
		{name: "hidden by a higher directory", args: []string{"hidden:1"}},
		{name: "set by a drop-in", args: []string{"dropin:1"}, by: "definition base"},
		{name: "replaced by a drop-in", args: []string{"old:1"}},
		{name: "template's drop-in", args: []string{"tmpl:1"}, by: "definition web@"},
		{name: "replaced in the template", args: []string{"tmplold:1"}},
		{name: "instance's drop-in", args: []string{"blue:1"}, by: "definition web@blue"},
		{name: "any instance of a template", args: []string{"app:v2"}, by: "definition app@"},
		{name: "not an instance's image", args: []string{"other:v2"}},
		{name: "named by ID", args: []string{"byid:1"}, by: "definition pinned"},
		{name: "writable layer", args: []string{"layer:1"}, by: "container gone"},
		{name: "force", args: []string{"--force", "tools:latest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, root := imageRmFixture(t)
			ref := tt.args[len(tt.args)-1]
			if ref == "tools" { // the image ID, known only now
				st, _ := rootfs.Open(store)
				img, err := st.Resolve("tools:latest")
				if err != nil {
					t.Fatal(err)
				}
				ref = img.ID
				tt.args[len(tt.args)-1] = ref
			}
			args := append([]string{"--root", store, "image", "rm", "--sysroot", root}, tt.args...)
			stdout, stderr, err := dockah(t, args...)
			if !strings.Contains(stderr, "/etc/dockah/containers/broken.toml:2: invalid TOML") || !strings.Contains(stderr, "(ignored when checking image use)") {
				t.Errorf("stderr does not report broken.toml:\n%s", stderr)
			}
			st, _ := rootfs.Open(store)
			_, resolveErr := st.Resolve(ref)
			if tt.by == "" {
				if err != nil || !strings.Contains(stdout, "untagged") {
					t.Fatalf("rm %s: %v, output %q", ref, err, stdout)
				}
				if resolveErr == nil {
					t.Errorf("%s still resolves", ref)
				}
				return
			}
			if !errors.Is(err, rootfs.ErrInUse) || !strings.Contains(err.Error(), "by "+tt.by+" (use --force") {
				t.Errorf("rm %s = %v, want ErrInUse by %s", ref, err, tt.by)
			}
			if resolveErr != nil {
				t.Errorf("refused, but %s is gone: %v", ref, resolveErr)
			}
		})
	}
}

func TestExpandInstance(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"web:%i", "web:X", true},
		{"web:1", "web:1", false},
		{"web:100%%", "web:100%", false},
		{"%%i%i", "%iX", true},
		{"web:%", "web:%", false},
	}
	for _, tt := range tests {
		if got, ok := expandInstance(tt.in, "X"); got != tt.want || ok != tt.ok {
			t.Errorf("expandInstance(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
