package remote

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
)

// baseLayers are the two layers the fixture images share.
func baseLayers(t testing.TB) []v1.Layer {
	return []v1.Layer{gzipLayer(t, "base0", 3000), gzipLayer(t, "base1", 5000)}
}

func TestPullByTag(t *testing.T) {
	reg := newRegistry(t)
	img := newImage(t, runtime.GOARCH, append(baseLayers(t), gzipLayer(t, "app", 7000))...)
	ref := reg.ref("test/app:v1")
	manifest := push(t, ref, img)
	st := newStore(t)

	p := pull(t, st, ref, PullOptions{})

	config := configDigest(t, img)
	if p.Image.ID != config.String() {
		t.Errorf("Image.ID = %s, want the config digest %s", p.Image.ID, config)
	}
	if !p.Fetched || p.Digest != manifest.String() {
		t.Errorf("Pulled = {Fetched: %v, Digest: %s}, want {true, %s}", p.Fetched, p.Digest, manifest)
	}
	if want := (rootfs.Reference{Name: reg.host + "/test/app", Tag: "v1"}); p.Reference != want {
		t.Errorf("Reference = %+v, want %+v", p.Reference, want)
	}
	for _, name := range []string{ref, reg.ref("test/app@" + manifest.String())} {
		got, err := st.Resolve(name)
		if err != nil {
			t.Errorf("Resolve(%s): %v", name, err)
			continue
		}
		if got.ID != p.Image.ID {
			t.Errorf("Resolve(%s) = %s, want %s", name, got.ID, p.Image.ID)
		}
	}
	_, diffIDs := layerDigests(t, img)
	var got []string
	for _, l := range p.Image.Layers {
		got = append(got, l.DiffID)
		if fi, err := os.Stat(filepath.Join(l.Dir, "data")); err != nil || !fi.IsDir() {
			t.Errorf("layer %s: no data/ directory in %s: %v", l.DiffID, l.Dir, err)
		}
	}
	if diff := cmp.Diff(diffIDs, got); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}
	if got := entries(t, st, "partial"); len(got) > 0 {
		t.Errorf("partial/ after a pull: %v", got)
	}
}

// TestPullSharedLayers checks that a layer the store has is never
// downloaded again, and that a re-pull downloads nothing.
func TestPullSharedLayers(t *testing.T) {
	reg := newRegistry(t)
	base := baseLayers(t)
	first := newImage(t, runtime.GOARCH, append(base, gzipLayer(t, "one", 4000))...)
	second := newImage(t, runtime.GOARCH, append(base, gzipLayer(t, "two", 4000))...)
	push(t, reg.ref("test/one:v1"), first)
	push(t, reg.ref("test/two:v1"), second)
	st := newStore(t)
	pull(t, st, reg.ref("test/one:v1"), PullOptions{})

	reg.reset()
	var mu sync.Mutex
	var exists []string
	pull(t, st, reg.ref("test/two:v1"), PullOptions{Import: archive.ImportOptions{Progress: func(ev archive.Event) {
		if ev.State == "exists" {
			mu.Lock()
			exists = append(exists, ev.Layer)
			mu.Unlock()
		}
	}}})
	blobs, diffIDs := layerDigests(t, second)
	want := []string{configDigest(t, second).String(), blobs[2]}
	got := reg.blobGets()
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blobs GET by the pull of an image sharing two layers (-want +got):\n%s", diff)
	}
	slices.Sort(exists)
	if diff := cmp.Diff(slices.Sorted(slices.Values(diffIDs[:2])), exists); diff != "" {
		t.Errorf("layers reported as existing (-want +got):\n%s", diff)
	}

	reg.reset()
	p := pull(t, st, reg.ref("test/two:v1"), PullOptions{})
	if got := reg.blobGets(); len(got) > 0 {
		t.Errorf("a re-pull GET blobs %v, want none", got)
	}
	if !p.Fetched {
		t.Error("a re-pull with policy always: Fetched = false")
	}
}

func TestPullPlatform(t *testing.T) {
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	reg := newRegistry(t)
	images := map[string]v1.Image{
		runtime.GOARCH: newImage(t, runtime.GOARCH, gzipLayer(t, "host", 2000)),
		other:          newImage(t, other, gzipLayer(t, "other", 2000)),
	}
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{runtime.GOARCH, other} {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: images[arch], Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch},
		}})
	}
	ref := reg.ref("test/multi:v1")
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcr.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		platform archive.Platform
		arch     string
	}{
		{"host", archive.Platform{}, runtime.GOARCH},
		{"explicit", archive.Platform{OS: "linux", Architecture: other}, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			p := pull(t, st, ref, PullOptions{Platform: tc.platform})
			want := images[tc.arch]
			if id := configDigest(t, want).String(); p.Image.ID != id {
				t.Errorf("pulled %s, want the %s image %s", p.Image.ID, tc.arch, id)
			}
			var platform struct {
				Architecture string `json:"architecture"`
			}
			if err := json.Unmarshal(p.Image.RawConfig, &platform); err != nil || platform.Architecture != tc.arch {
				t.Errorf("pulled an image for %q (%v), want %s", platform.Architecture, err, tc.arch)
			}
			if p.Digest != idxDigest.String() {
				t.Errorf("Digest = %s, want the index digest %s", p.Digest, idxDigest)
			}
			manifest, err := want.Digest()
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []v1.Hash{idxDigest, manifest} {
				n := reg.ref("test/multi@" + d.String())
				if got, err := st.Resolve(n); err != nil || got.ID != p.Image.ID {
					t.Errorf("Resolve(%s) = %v, %v; want %s", n, got, err, p.Image.ID)
				}
			}
		})
	}
}

func TestPullPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		// stored: the store has the image before the pull.
		stored bool
		// down: the registry is closed before the pull; broken: it answers
		// /v2/ but 503 to everything else.
		down, broken bool
		// update: the tag moves to another image before the pull.
		update bool
		// wantErr: the error must wrap it.
		wantErr error
		// requests: whether the pull may talk to the registry at all.
		requests bool
		// blobs: the blobs the pull must GET (config or layers).
		blobs   bool
		fetched bool
	}{
		{name: "missing/present", policy: PullMissing, stored: true},
		{name: "missing/absent", policy: PullMissing, requests: true, blobs: true, fetched: true},
		{name: "never/present", policy: PullNever, stored: true},
		{name: "never/absent", policy: PullNever, wantErr: rootfs.ErrNotFound},
		{name: "newer/same", policy: PullNewer, stored: true, requests: true},
		{name: "newer/updated", policy: PullNewer, stored: true, update: true, requests: true, blobs: true, fetched: true},
		{name: "newer/down", policy: PullNewer, stored: true, down: true},
		{name: "newer/down/absent", policy: PullNewer, down: true, wantErr: errAny},
		{name: "newer/broken", policy: PullNewer, stored: true, broken: true, requests: true},
		{name: "newer/broken/absent", policy: PullNewer, broken: true, wantErr: errAny},
		{name: "always/present", policy: PullAlways, stored: true, requests: true, fetched: true},
		{name: "always/updated", policy: PullAlways, stored: true, update: true, requests: true, blobs: true, fetched: true},
		{name: "always/down", policy: PullAlways, stored: true, down: true, wantErr: errAny},
		{name: "always/broken", policy: PullAlways, stored: true, broken: true, wantErr: errAny},
		{name: "default/present", stored: true, requests: true, fetched: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry(t)
			ref := reg.ref("test/policy:v1")
			old := newImage(t, runtime.GOARCH, gzipLayer(t, "old", 1000))
			push(t, ref, old)
			st := newStore(t)
			if tc.stored {
				pull(t, st, ref, PullOptions{})
			}
			want := configDigest(t, old).String()
			if tc.update {
				newer := newImage(t, runtime.GOARCH, gzipLayer(t, "new", 1000))
				push(t, ref, newer)
				want = configDigest(t, newer).String()
			}
			reg.reset()
			if tc.down {
				reg.srv.Close()
			}
			if tc.broken {
				reg.use(func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
						if req.URL.Path == "/v2/" {
							next.ServeHTTP(w, req)
							return
						}
						http.Error(w, "backend down", http.StatusServiceUnavailable)
					})
				})
			}

			p, err := Pull(context.Background(), st, ref, PullOptions{Options: opts(), Policy: tc.policy})

			if tc.wantErr != nil {
				if err == nil || tc.wantErr != errAny && !errors.Is(err, tc.wantErr) {
					t.Fatalf("Pull = %v, want an error wrapping %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if p.Image.ID != want {
				t.Errorf("Pull gave %s, want %s", p.Image.ID, want)
			}
			if got, err := st.Resolve(ref); err != nil || got.ID != want {
				t.Errorf("Resolve(%s) after the pull = %v, %v; want %s", ref, got, err, want)
			}
			if p.Fetched != tc.fetched {
				t.Errorf("Fetched = %v, want %v", p.Fetched, tc.fetched)
			}
			if got := reg.requests(); !tc.requests && len(got) > 0 {
				t.Errorf("requests %v, want none", got)
			}
			if got := reg.blobGets(); !tc.blobs && len(got) > 0 {
				t.Errorf("blob GETs %v, want none", got)
			} else if tc.blobs && len(got) == 0 {
				t.Error("no blob GET, want the new image's")
			}
			if tc.policy == PullAlways && !tc.down && !slices.ContainsFunc(reg.requests(), func(r request) bool {
				return r.Method == "GET" && strings.Contains(r.Path, "/manifests/")
			}) {
				t.Error("policy always did not GET the manifest")
			}
		})
	}
}

// errAny stands for "some error" in tables.
var errAny = errors.New("any error")

func TestParsePolicy(t *testing.T) {
	for _, s := range []string{"always", "missing", "newer", "never"} {
		if p, err := ParsePolicy(s); err != nil || string(p) != s {
			t.Errorf("ParsePolicy(%q) = %q, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "Always", "if-not-present"} {
		if _, err := ParsePolicy(s); err == nil || !strings.Contains(err.Error(), "accepted") {
			t.Errorf("ParsePolicy(%q) = %v, want an error listing what is accepted", s, err)
		}
	}
}
