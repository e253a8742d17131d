package remote

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// cutOnce makes the first GET of blob digest send its headers with the
// full Content-Length, then only the first half of the body, and then
// drop the connection.
func cutOnce(digest v1.Hash, blob []byte) middleware {
	var done atomic.Bool
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !isBlob(req, digest) || done.Swap(true) {
				next.ServeHTTP(w, req)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(blob)))
			w.WriteHeader(http.StatusOK)
			w.Write(blob[:len(blob)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		})
	}
}

func TestPullResume(t *testing.T) {
	for _, tc := range []struct {
		name string
		// ranges: whether the registry answers bytes=N- with 206; without,
		// go-containerregistry's registry refuses it with 416.
		ranges bool
	}{
		{"ranges", true},
		{"no-ranges", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry(t)
			layer := gzipLayer(t, "big", 256<<10)
			img := newImage(t, runtime.GOARCH, layer)
			ref := reg.ref("test/resume:v1")
			push(t, ref, img)
			digest, err := layer.Digest()
			if err != nil {
				t.Fatal(err)
			}
			blob := blobBytes(t, layer)
			cut := cutOnce(digest, blob)
			reg.use(func(next http.Handler) http.Handler {
				if tc.ranges {
					next = openRanges(map[v1.Hash][]byte{digest: blob}, next)
				}
				return cut(next)
			})
			st := newStore(t)

			_, err = Pull(context.Background(), st, ref, PullOptions{Options: opts()})
			if err == nil {
				t.Fatal("Pull through a connection cut mid-layer succeeded")
			}
			if !strings.Contains(err.Error(), "kept") || !strings.Contains(err.Error(), "resume") {
				t.Errorf("Pull = %v, want an error saying the bytes are kept to resume", err)
			}
			assertNothingWritten(t, st)
			partial, err := st.PartialBlob(digest.String())
			if err != nil {
				t.Fatal(err)
			}
			kept, err := os.ReadFile(partial)
			if err != nil {
				t.Fatalf("partial file: %v", err)
			}
			if len(kept) == 0 || len(kept) > len(blob)/2 || !bytes.Equal(kept, blob[:len(kept)]) {
				t.Fatalf("partial file holds %d bytes, want a prefix of the %d sent of the blob", len(kept), len(blob)/2)
			}

			reg.reset()
			p := pull(t, st, ref, PullOptions{})
			if p.Image.ID != configDigest(t, img).String() {
				t.Errorf("resumed pull gave %s, want %s", p.Image.ID, configDigest(t, img))
			}
			var ranges []string
			for _, r := range reg.requests() {
				if strings.HasSuffix(r.Path, "/blobs/"+digest.String()) && r.Method == http.MethodGet {
					ranges = append(ranges, r.Range)
				}
			}
			if want := "bytes=" + strconv.Itoa(len(kept)) + "-"; len(ranges) == 0 || ranges[0] != want {
				t.Errorf("Range headers of the resumed pull: %q, want %q first", ranges, want)
			}
			if tc.ranges && len(ranges) != 1 {
				t.Errorf("resumed pull GET the blob %d times, want once", len(ranges))
			}
			if _, err := os.Stat(partial); !os.IsNotExist(err) {
				t.Errorf("partial file after the resumed pull: %v", err)
			}
		})
	}
}
