package remote

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPush(t *testing.T) {
	reg := newRegistry(t)
	src := reg.ref("test/src:v1")
	push(t, src, newImage(t, runtime.GOARCH, append(baseLayers(t), gzipLayer(t, "app", 6000))...))
	st := newStore(t)
	stored := pull(t, st, src, PullOptions{}).Image
	// Another registry, so that the push has blobs to send: this one
	// has them all (pushed layers are the fixture's, byte for byte).
	dst := newRegistry(t)
	dest := dst.ref("test/dst:v2")

	var done, total int64
	digest, err := Push(context.Background(), st, src, dest, PushOptions{Options: opts(), Progress: func(d, t int64) { done, total = d, t }})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if dst.uploads() == 0 {
		t.Error("the first push uploaded nothing")
	}
	if total == 0 || done != total {
		t.Errorf("last progress %d of %d, want all of a non-zero total", done, total)
	}

	r, err := name.ParseReference(dest)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := ggcr.Get(r)
	if err != nil {
		t.Fatalf("get the pushed image: %v", err)
	}
	if digest != desc.Digest.String() {
		t.Errorf("Push = %s, the registry has %s", digest, desc.Digest)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if got := configDigest(t, img).String(); got != stored.ID {
		t.Errorf("pushed config %s, want the image ID %s (config unchanged)", got, stored.ID)
	}
	_, diffIDs := layerDigests(t, img)
	var want []string
	for _, l := range stored.Layers {
		want = append(want, l.DiffID)
	}
	if diff := cmp.Diff(want, diffIDs); diff != "" {
		t.Errorf("pushed layers' diff IDs (-want +got):\n%s", diff)
	}
	byDigest := dst.ref("test/dst@" + digest)
	if got, err := st.Resolve(byDigest); err != nil || got.ID != stored.ID {
		t.Errorf("Resolve(%s) after the push = %v, %v; want %s", byDigest, got, err, stored.ID)
	}

	// What went up comes down as the same image.
	if p := pull(t, newStore(t), dest, PullOptions{}); p.Image.ID != stored.ID || p.Digest != digest {
		t.Errorf("pull of the pushed image: %s by %s, want %s by %s", p.Image.ID, p.Digest, stored.ID, digest)
	}

	dst.reset()
	again, err := Push(context.Background(), st, src, dest, PushOptions{Options: opts()})
	if err != nil {
		t.Fatalf("second Push: %v", err)
	}
	if again != digest {
		t.Errorf("second Push = %s, want the same digest %s", again, digest)
	}
	if n := dst.uploads(); n > 0 {
		t.Errorf("second push: %d upload requests, want none (%v)", n, dst.requests())
	}
}

func TestPushDestination(t *testing.T) {
	reg := newRegistry(t)
	src := reg.ref("test/src:v1")
	push(t, src, newImage(t, runtime.GOARCH, gzipLayer(t, "app", 1000)))
	st := newStore(t)
	pull(t, st, src, PullOptions{})
	if err := st.Tag(src, "mine:v1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, src, dest string
		// msg is in the error; "" means success.
		msg string
	}{
		{"own name", src, "", ""},
		{"local short name", "mine:v1", "", "name a destination with a registry, such as registry.example.com/mine:v1"},
		{"local full name", "localhost/mine:v1", "", "name a destination"},
		{"digest", src, reg.ref("test/dst@sha256:" + strings.Repeat("0", 64)), "a destination is a tag"},
		{"missing image", reg.ref("test/none:v1"), reg.ref("test/dst:v1"), "not found"},
		{"local to registry", "mine:v1", reg.ref("test/mine:v1"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Push(context.Background(), st, tc.src, tc.dest, PushOptions{Options: opts()})
			switch {
			case tc.msg == "" && err != nil:
				t.Errorf("Push(%s, %q): %v", tc.src, tc.dest, err)
			case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
				t.Errorf("Push(%s, %q) = %v, want an error saying %q", tc.src, tc.dest, err, tc.msg)
			}
		})
	}
}
