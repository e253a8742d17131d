package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestImageListFormats checks the forms of `image ls` on a store where
// web:1 has a second name (spare:1) and shares its layer with worker:2:
// -q prints each image's ID once, --no-trunc in full; templates see the
// table's fields; json has the raw values.
func TestImageListFormats(t *testing.T) {
	root, ids := newTestStore(t)
	web, worker := ids["docker.io/library/web:1"], ids["docker.io/library/worker:2"]
	short := func(id string) string { return id[7:19] }
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-q"}, short(web) + "\n" + short(worker) + "\n"},
		{[]string{"--quiet", "--no-trunc"}, web + "\n" + worker + "\n"},
		{[]string{"--format", "{{.ID}} {{.Names}}"},
			short(web) + " [docker.io/library/web:1 localhost/spare:1]\n" + short(worker) + " [docker.io/library/worker:2]\n"},
		{[]string{"--no-trunc", "--format", `{{.ID}}|{{join .Names ","}}|{{len .Digests}}` + "\n"},
			web + "|docker.io/library/web:1,localhost/spare:1|0\n" + worker + "|docker.io/library/worker:2|0\n"},
		{[]string{"--format", "{{.Size}} {{.SharedSize}}"}, "2 B 2 B\n2 B 2 B\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, err := dockah(t, append([]string{"--root", root, "image", "ls"}, tt.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if diff := cmp.Diff(tt.want, stdout); diff != "" {
				t.Errorf("image ls %v (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// TestImageListJSON checks the fields and types of --format json.
func TestImageListJSON(t *testing.T) {
	root, ids := newTestStore(t)
	stdout, _, err := dockah(t, "--root", root, "image", "ls", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if len(got) != 2 {
		t.Fatalf("%d images, want 2:\n%s", len(got), stdout)
	}
	for i, name := range []string{"web:1", "worker:2"} {
		img := got[i]
		created, _ := img["created"].(string)
		if _, err := time.Parse(time.RFC3339, created); err != nil {
			t.Errorf("%s: created %v: %v", name, img["created"], err)
		}
		delete(img, "created")
		names := []any{"docker.io/library/" + name}
		if name == "web:1" {
			names = []any{"docker.io/library/web:1", "localhost/spare:1"}
		}
		want := map[string]any{"id": ids["docker.io/library/"+name], "names": names, "digests": []any{}, "size": 2.0, "sharedSize": 2.0}
		if diff := cmp.Diff(want, img); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	empty := t.TempDir()
	if stdout, _, err := dockah(t, "--root", empty, "image", "ls", "--format", "json"); err != nil || stdout != "[]\n" {
		t.Errorf("json of an empty store = %q, %v; want []", stdout, err)
	}
}

// TestImageListBadFormat checks that a format that is not table, json or
// a template that works on an image is refused before anything is listed.
func TestImageListBadFormat(t *testing.T) {
	root, _ := newTestStore(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, `"xml" is not a format (accepted: table, json, or a Go template`},
		{[]string{"--format", "{{.Nope}}"}, `can't evaluate field Nope`},
		{[]string{"--format", "{{.ID"}, `parse template`},
		{[]string{"-q", "--format", "json"}, `[format quiet] were all set`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, _, err := dockah(t, append([]string{"--root", root, "image", "ls"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || stdout != "" {
				t.Errorf("image ls %v = %v, stdout %q; want an error with %q", tt.args, err, stdout, tt.want)
			}
		})
	}
}

// TestImageListTable checks the table: a line per name, the ID column
// short or with --no-trunc full, and the DIGEST column with --digests.
func TestImageListTable(t *testing.T) {
	root, ids := newTestStore(t)
	web := ids["docker.io/library/web:1"]
	tests := []struct {
		args       []string
		header, id string
	}{
		{nil, "NAME   TAG   IMAGE ID", web[7:19]},
		{[]string{"--no-trunc"}, "NAME   TAG   IMAGE ID", web},
		{[]string{"--digests"}, "NAME   TAG   DIGEST   IMAGE ID", web[7:19]},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, _, err := dockah(t, append([]string{"--root", root, "image", "ls"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			header := strings.Join(strings.Fields(lines[0]), "   ")
			if !strings.HasPrefix(header, strings.Join(strings.Fields(tt.header), "   ")) || len(lines) != 4 || strings.Count(stdout, tt.id) != 2 {
				t.Errorf("image ls %v: want header %q, 3 lines, web's ID %s twice:\n%s", tt.args, tt.header, tt.id, stdout)
			}
		})
	}
}
