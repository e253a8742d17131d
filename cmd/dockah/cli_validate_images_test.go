package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/google/go-cmp/cmp"
)

// TestValidateImageWarnings checks the warning validate prints for a
// definition whose image the store (--root) does not have, or names
// ambiguously: one line per definition, what a start will do under its
// pull policy, exit status 0; checking each FILE alone and the whole
// search path give the same warnings.
func TestValidateImageWarnings(t *testing.T) {
	root, ids := newTestStore(t)
	st, err := rootfs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	// dup:1 is both docker.io/library/dup:1 and localhost/dup:1, two images.
	if err := st.Tag("web:1", "docker.io/library/dup:1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Tag("worker:2", "localhost/dup:1"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, image, pull string
		want              string // the warning; "" for none
	}{
		{"full.toml", "docker.io/library/web:1", "", ""},
		{"short.toml", "web:1", "never", ""},
		{"byid.toml", ids["docker.io/library/worker:2"], "never", ""},
		{"missing.toml", "docker.io/library/nginx:1.27", "",
			`WARNING: missing: image docker.io/library/nginx:1.27 is not in the store (pull = "missing": it will be pulled on first start)`},
		{"newer.toml", "nginx:1.27", "newer",
			`WARNING: newer: image nginx:1.27 is not in the store (pull = "newer": it will be pulled on first start)`},
		{"always.toml", "nginx:1.27", "always",
			`WARNING: always: image nginx:1.27 is not in the store (pull = "always": it will be pulled at every start)`},
		{"never.toml", "nginx:1.27", "never",
			`WARNING: never: image nginx:1.27 is not in the store (pull = "never": the start will fail until it is imported or pulled)`},
		{"ambiguous.toml", "dup:1", "",
			`WARNING: ambiguous: image "dup:1" is ambiguous: it names docker.io/library/dup:1, localhost/dup:1; write one of them in full`},
		{"tpl@.toml", "nginx:%i", "never", ""},
	}
	files := map[string]string{}
	var all []string // every warning, for the search path
	for _, tt := range tests {
		if tt.want != "" {
			all = append(all, tt.want)
		}
		text := "[container]\nimage = \"" + tt.image + "\"\n"
		if tt.pull != "" {
			text += "pull = \"" + tt.pull + "\"\n"
		}
		files[tt.file] = text
	}
	sys := sysroot(t, files)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := filepath.Join(sys, "etc/dockah/containers", tt.file)
			stdout, stderr, err := dockah(t, "--root", root, "validate", file)
			if err != nil || stdout != file+": ok\n" {
				t.Fatalf("validate %s = %v, stdout %q", tt.file, err, stdout)
			}
			want := ""
			if tt.want != "" {
				want = tt.want + "\n"
			}
			if diff := cmp.Diff(want, stderr); diff != "" {
				t.Errorf("validate %s (-want +got):\n%s", tt.file, diff)
			}
		})
	}
	t.Run("search path", func(t *testing.T) {
		_, stderr, err := dockah(t, "--root", root, "validate", "--sysroot", sys)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		sort.Strings(got)
		sort.Strings(all)
		if diff := cmp.Diff(all, got); diff != "" {
			t.Errorf("validate of the search path (-want +got):\n%s", diff)
		}
	})
}

// TestValidateWithoutStore checks that a store that does not exist has
// no image, and is not created by validate.
func TestValidateWithoutStore(t *testing.T) {
	sys := sysroot(t, map[string]string{"web.toml": "[container]\nimage = \"web:1\"\npull = \"never\"\n"})
	store := filepath.Join(t.TempDir(), "none")
	_, stderr, err := dockah(t, "--root", store, "validate", "--sysroot", sys)
	want := "WARNING: web: image web:1 is not in the store (pull = \"never\": the start will fail until it is imported or pulled)\n"
	if err != nil || stderr != want {
		t.Errorf("validate = %v, stderr %q; want %q", err, stderr, want)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("validate made the store: %v", err)
	}
}
