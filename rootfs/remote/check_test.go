package remote

import (
	"context"
	"runtime"
	"testing"
)

// TestCheck: Check says whether a pull with PullNewer would fetch, asks
// only for the manifest's digest, and pulls nothing.
func TestCheck(t *testing.T) {
	reg := newRegistry(t)
	ref := reg.ref("test/check:v1")
	old := newImage(t, runtime.GOARCH, gzipLayer(t, "old", 1000))
	push(t, ref, old)
	st := newStore(t)
	check := func() bool {
		t.Helper()
		reg.reset()
		newer, digest, err := Check(context.Background(), st, ref, PullOptions{Options: opts()})
		if err != nil {
			t.Fatal(err)
		}
		if got := reg.blobGets(); len(got) > 0 {
			t.Errorf("Check fetched blobs %v", got)
		}
		if newer && digest == "" && len(reg.requests()) > 0 {
			t.Error("asked the registry but gave no digest")
		}
		return newer
	}
	if !check() {
		t.Error("an image the store lacks is not newer")
	}
	pull(t, st, ref, PullOptions{})
	if check() {
		t.Error("the image just pulled is newer")
	}
	push(t, ref, newImage(t, runtime.GOARCH, gzipLayer(t, "new", 1000)))
	if !check() {
		t.Error("the registry's new image is not newer")
	}
	if img, err := st.Resolve(ref); err != nil || img.ID != configDigest(t, old).String() {
		t.Errorf("the store's copy changed: %v, %v", img, err)
	}
	reg.srv.Close()
	if _, _, err := Check(context.Background(), st, ref, PullOptions{Options: opts()}); err == nil {
		t.Error("a registry that is down answered")
	}
}
