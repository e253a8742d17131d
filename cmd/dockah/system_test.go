package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/rootfs"
)

// systemFixture is a store and a system root with something of every
// kind, used and unused:
//
//   - web:1, used by the definition web, which also names the volume data;
//   - old:1, used only by the writable layer of old, a container whose
//     definition is gone and that does not run;
//   - run:1, used by the writable layer of run-1, which runs (a dockah run);
//   - a dangling image (its name x:1 moved to another image) nothing uses;
//   - the volume orphan, which nothing uses.
func systemFixture(t *testing.T) (*storeUsers, map[string]string) {
	t.Helper()
	st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, name := range []string{"web:1", "old:1", "run:1", "x:1"} {
		ids[name] = importImage(t, st, name)
	}
	ids["dangling"] = ids["x:1"]
	if err := st.Tag("run:1", "x:1"); err != nil { // x:1 moves: its image keeps no name
		t.Fatal(err)
	}
	for _, c := range []struct{ image, name, file string }{{"old:1", "old", "0123456789"}, {"run:1", "run-1", "abc"}, {"web:1", "web", ""}} {
		plan, err := st.MountPlan(c.image, c.name, rootfs.MountOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(plan.Upper, "written"), []byte(c.file), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"data": "12345", "orphan": "1234567"} {
		writeTree(t, st.VolumeDir(), map[string]string{name + "/_data/f": data})
	}
	root := writeTree(t, t.TempDir(), map[string]string{
		"etc/dockah/containers/web.toml": "[container]\nimage = \"web:1\"\n\n[[volume]]\nsource = \"data\"\ntarget = \"/data\"\n",
	})
	fsys := os.DirFS(root)
	units := map[string]unitState{
		"web.service":   {Load: "loaded", Active: "inactive"},
		"run-1.service": {Load: "loaded", Active: "active"},
	}
	return &storeUsers{
		store: st, fsys: fsys, defs: loadForUseCheck(fsys, os.Stderr),
		units: func(_ context.Context, unit string) (unitState, error) {
			if s, ok := units[unit]; ok {
				return s, nil
			}
			return unitState{Load: "not-found", Active: "inactive"}, nil
		},
		mainPID: func(context.Context, string) (uint32, error) { return 0, nil },
	}, ids
}

func TestSystemDf(t *testing.T) {
	u, ids := systemFixture(t)
	du, err := u.measure(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Each image's one layer holds its name (5 bytes), the dangling
	// image's "x:1" 3 bytes; writable layers hold "written" and the
	// image ID record (72 bytes).
	want := map[string]usageSummary{
		"images":     {Total: 4, Active: 3, Size: 5 + 5 + 5 + 3, Reclaimable: 3},
		"containers": {Total: 3, Active: 1, Size: 10 + 72 + 3 + 72 + 0 + 72, Reclaimable: 10 + 72},
		"volumes":    {Total: 2, Active: 1, Size: 12, Reclaimable: 7},
	}
	got := map[string]usageSummary{"images": du.Images.usageSummary, "containers": du.Containers.usageSummary, "volumes": du.Volumes.usageSummary}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summaries (-want +got):\n%s", diff)
	}
	users := map[string][]string{}
	for _, img := range du.Images.Items {
		users[img.ID] = img.UsedBy
	}
	wantUsers := map[string][]string{
		ids["web:1"]: {"definition web", "container web"}, ids["old:1"]: {"container old"},
		ids["run:1"]: {"container run-1"}, ids["dangling"]: {},
	}
	if diff := cmp.Diff(wantUsers, users); diff != "" {
		t.Errorf("image users (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	if err := printDf(&out, du); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "system-df.txt", out.String())
	// Image IDs and creation times change with each import: the golden
	// file has stand-ins.
	standIn := map[string]string{}
	for _, name := range []string{"web:1", "old:1", "run:1", "dangling"} {
		standIn[ids[name]] = "sha256:" + strings.Repeat(name[:1], 64)
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range du.Images.Items {
		du.Images.Items[i].ID, du.Images.Items[i].Created = standIn[du.Images.Items[i].ID], &created
	}
	for i := range du.Containers.Items {
		du.Containers.Items[i].Image = standIn[du.Containers.Items[i].Image]
	}
	out.Reset()
	if err := printDfVerbose(&out, du); err != nil {
		t.Fatal(err)
	}
	verbose := out.String()
	checkGolden(t, "system-df-v.txt", verbose)
}

func TestSystemDfFormats(t *testing.T) {
	u, _ := systemFixture(t)
	du, err := u.measure(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ format, want string }{
		{"{{.Type}}\t{{.Total}}", "Images\t4\nContainers\t3\nLocal Volumes\t2\n"},
		{`{{.Type}}:{{.RawReclaimable}}`, "Images:3\nContainers:82\nLocal Volumes:7\n"},
		{"table {{.Type}} {{.Reclaimable}}", "TYPE            RECLAIMABLE\nImages          3B (17%)\nContainers      82B (36%)\nLocal Volumes   7B (58%)\n"},
	}
	for _, tt := range tests {
		f := newDfFormat()
		if err := f.Set(tt.format); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := f.execute(&out, du.rows()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, out.String()); diff != "" {
			t.Errorf("--format %q (-want +got):\n%s", tt.format, diff)
		}
	}
	f := newDfFormat()
	if err := f.Set("{{.Nope}}"); err == nil {
		t.Error("a template with a field df rows do not have was accepted")
	}
	data, err := json.Marshal(du)
	if err != nil || !strings.Contains(string(data), `"images":{"total":4,"active":3,"size":18,"reclaimable":3,"items":[`) {
		t.Errorf("json: %v\n%s", err, data)
	}
}

func TestSystemPrune(t *testing.T) {
	tests := []struct {
		name                  string
		opts                  pruneOptions
		containers, images    []string
		volumes               []string
		bytes                 int64
		keptImages, keptNames []string
	}{
		{name: "dangling", opts: pruneOptions{},
			containers: []string{"old"}, images: []string{"dangling"}, bytes: 10 + 72 + 3,
			keptNames: []string{"web:1", "old:1", "run:1", "x:1"}},
		{name: "all and volumes", opts: pruneOptions{all: true, volumes: true},
			containers: []string{"old"}, images: []string{"old:1", "dangling"}, volumes: []string{"orphan"}, bytes: 10 + 72 + 3 + 5 + 7,
			keptNames: []string{"web:1", "run:1", "x:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ids := systemFixture(t)
			var warn bytes.Buffer
			rep, err := u.prune(context.Background(), &tt.opts, &warn)
			if err != nil {
				t.Fatal(err)
			}
			var wantImages []string
			for _, name := range tt.images {
				wantImages = append(wantImages, ids[name])
			}
			slices.Sort(wantImages)
			slices.Sort(rep.Images)
			if diff := cmp.Diff(pruneReport{Containers: tt.containers, Images: wantImages, Volumes: tt.volumes, Bytes: tt.bytes}, rep); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			for _, name := range tt.keptNames {
				if _, err := u.store.Resolve(name); err != nil {
					t.Errorf("%s is gone: %v", name, err)
				}
			}
			left, _ := u.store.Containers()
			if !slices.Equal(left, []string{"run-1", "web"}) {
				t.Errorf("writable layers left: %v", left)
			}
			if vols, _ := u.store.Volumes(); !slices.Contains(vols, "data") {
				t.Errorf("volumes left: %v", vols)
			}
			if warn.Len() > 0 {
				t.Errorf("warnings: %s", warn.String())
			}
			var out bytes.Buffer
			printPruneReport(&out, rep)
			if !strings.HasPrefix(out.String(), "Deleted Containers\nold\nDeleted Images\n") || !strings.HasSuffix(out.String(), "\nTotal reclaimed space: "+decimalSize(uint64(tt.bytes))+"\n") {
				t.Errorf("report:\n%s", out.String())
			}
		})
	}
}

func TestPruneConfirmation(t *testing.T) {
	for answer, want := range map[string]bool{"y\n": true, "YES\n": true, "n\n": false, "\n": false, "": false, "yep\n": false} {
		var out bytes.Buffer
		if got := confirm(strings.NewReader(answer), &out, "Sure?"); got != want || out.String() != "Sure? [y/N] " {
			t.Errorf("answer %q: %v, prompt %q", answer, got, out.String())
		}
	}
	// Without -f and without a yes, nothing is opened or removed.
	store := filepath.Join(t.TempDir(), "store")
	stderr, err := dockahIO(t, strings.NewReader("n\n"), &bytes.Buffer{}, "--root", store, "system", "prune", "--volumes")
	if err == nil || !strings.Contains(err.Error(), "not confirmed") || !strings.Contains(stderr, "WARNING! This command removes:") || !strings.Contains(stderr, "named volumes") {
		t.Errorf("prune answered no: %v\n%s", err, stderr)
	}
}

func TestMountedVolumes(t *testing.T) {
	roots := []string{"/", "/var/lib/dockah/volumes/data/_data", "/srv/store/volumes/my vol/_data", "/cache/_data", "/other/data/_data"}
	got := mountedNames(roots, []string{"data", "my vol", "cache", "free", "other"})
	if diff := cmp.Diff([]string{"data", "my vol", "cache"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestVerbManPages: top, stats and system df/prune have man pages with
// examples, made from their --help.
func TestVerbManPages(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := dockah(t, "man", dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"dockah-top.1", "dockah-stats.1", "dockah-system.1", "dockah-system-df.1", "dockah-system-prune.1"} {
		data, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.Contains(string(data), ".SH EXAMPLE") {
			t.Errorf("%s has no examples", page)
		}
	}
}
