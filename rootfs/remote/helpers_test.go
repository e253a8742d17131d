package remote

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"io"
	"log"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dockah/dockah/rootfs"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is go-containerregistry's in-memory registry on a loopback
// port, behind a recorder of every request and a swappable middleware
// that tests set to make it misbehave.
type testRegistry struct {
	srv  *httptest.Server
	host string // 127.0.0.1:PORT

	mu   sync.Mutex
	reqs []request

	mw atomic.Pointer[middleware]
}

// request is what the recorder keeps of one request.
type request struct {
	Method, Path, Range string
}

type middleware func(next http.Handler) http.Handler

func newRegistry(t testing.TB) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, request{Method: req.Method, Path: req.URL.Path, Range: req.Header.Get("Range")})
		r.mu.Unlock()
		h := http.Handler(inner)
		if mw := r.mw.Load(); mw != nil {
			h = (*mw)(inner)
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// use makes mw handle every request from now on; nil restores the
// honest registry.
func (r *testRegistry) use(mw middleware) {
	if mw == nil {
		r.mw.Store(nil)
		return
	}
	r.mw.Store(&mw)
}

// reset forgets the requests recorded so far.
func (r *testRegistry) reset() {
	r.mu.Lock()
	r.reqs = nil
	r.mu.Unlock()
}

func (r *testRegistry) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

var blobPath = regexp.MustCompile(`^/v2/.+/blobs/(sha256:[0-9a-f]{64})$`)

// blobGets lists the digests of the blobs GET since the last reset, in
// order, repeated as often as they were asked for.
func (r *testRegistry) blobGets() []string {
	var out []string
	for _, q := range r.requests() {
		if m := blobPath.FindStringSubmatch(q.Path); m != nil && q.Method == http.MethodGet {
			out = append(out, m[1])
		}
	}
	return out
}

// uploads counts the requests that send blobs: POST, PATCH and PUT on
// /blobs/uploads/.
func (r *testRegistry) uploads() int {
	n := 0
	for _, q := range r.requests() {
		if strings.Contains(q.Path, "/blobs/uploads/") && q.Method != http.MethodGet && q.Method != http.MethodHead {
			n++
		}
	}
	return n
}

// ref is a reference to repo in this registry.
func (r *testRegistry) ref(repo string) string { return r.host + "/" + repo }

// isBlob reports whether req is a GET of the blob digest.
func isBlob(req *http.Request, digest v1.Hash) bool {
	return req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/blobs/"+digest.String())
}

func isManifest(req *http.Request) bool {
	return req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/")
}

// openRanges makes the registry answer open-ended range requests
// (bytes=N-) on the given blobs, as distribution and the CDNs in front of
// real registries do; go-containerregistry's registry only understands
// bytes=N-M.
func openRanges(blobs map[v1.Hash][]byte, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for d, b := range blobs {
			if isBlob(req, d) && req.Header.Get("Range") != "" {
				http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(b))
				return
			}
		}
		next.ServeHTTP(w, req)
	})
}

// opts are the options every test uses: plain HTTP allowed (the test
// registries have no TLS), no Transport and no certs.d directories.
func opts() Options { return Options{CertsFS: fstest.MapFS{}, SkipTLSVerify: true} }

// file is one regular file of a test layer.
type file struct {
	name string
	size int
}

// layerTar is a tar of a directory and files with contents derived from
// seed, so that the same arguments give the same bytes.
func layerTar(t testing.TB, seed string, files ...file) []byte {
	t.Helper()
	h := fnv.New64a()
	h.Write([]byte(seed))
	rng := rand.New(rand.NewSource(int64(h.Sum64())))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "data/", Mode: 0o755, ModTime: mtime}); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "data/" + f.name, Mode: 0o644, Size: int64(f.size), ModTime: mtime}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(tw, rng, int64(f.size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipLayer is a gzip layer holding one file of size random bytes.
func gzipLayer(t testing.TB, seed string, size int) v1.Layer {
	t.Helper()
	b := layerTar(t, seed, file{name: seed, size: size})
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// plainLayer is an uncompressed layer holding one file.
func plainLayer(t testing.TB, seed string, size int) v1.Layer {
	t.Helper()
	return static.NewLayer(layerTar(t, seed, file{name: seed, size: size}), types.OCIUncompressedLayer)
}

// newImage is an OCI image of layers for linux/arch.
func newImage(t testing.TB, arch string, layers ...v1.Layer) v1.Image {
	t.Helper()
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Cmd = []string{"/data/run"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// push writes img to ref (a name in reg) and returns its manifest digest.
func push(t testing.TB, ref string, img v1.Image) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcr.Write(r, img); err != nil {
		t.Fatalf("push fixture %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func configDigest(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func layerDigests(t testing.TB, img v1.Image) (blobs, diffIDs []string) {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		id, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		blobs, diffIDs = append(blobs, d.String()), append(diffIDs, id.String())
	}
	return blobs, diffIDs
}

func blobBytes(t testing.TB, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newStore(t testing.TB) *rootfs.Store {
	t.Helper()
	st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chmodTree(st.Root()) })
	return st
}

// chmodTree makes directories writable so that t.TempDir's cleanup can
// remove read-only directories an unprivileged unpack left.
func chmodTree(dir string) {
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() && info.Mode()&0o200 == 0 {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// entries lists the names in the store directory rel, sorted; none when
// it does not exist.
func entries(t testing.TB, st *rootfs.Store, rel string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(st.Root(), rel))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	sort.Strings(out)
	return out
}

// storedLayers lists the diff IDs of the layers in the store.
func storedLayers(t testing.TB, st *rootfs.Store) []string {
	t.Helper()
	var out []string
	for _, e := range entries(t, st, "layers/sha256") {
		out = append(out, "sha256:"+e)
	}
	return out
}

// assertNothingWritten checks that a failed pull left no image, no layer
// and no work in progress.
func assertNothingWritten(t testing.TB, st *rootfs.Store) {
	t.Helper()
	for _, dir := range []string{"images", "refs", "layers/sha256", "tmp"} {
		if got := entries(t, st, dir); len(got) > 0 {
			t.Errorf("store %s/ after a failed pull: %v", dir, got)
		}
	}
}

func pull(t testing.TB, st *rootfs.Store, ref string, o PullOptions) *Pulled {
	t.Helper()
	if o.CertsFS == nil {
		o.CertsFS, o.SkipTLSVerify = fstest.MapFS{}, true
	}
	p, err := Pull(context.Background(), st, ref, o)
	if err != nil {
		t.Fatalf("Pull %s: %v", ref, err)
	}
	return p
}
