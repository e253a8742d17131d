package remote

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// hostileFixture is a one-layer image in a registry, with what the
// misbehaving middlewares need to know about it.
type hostileFixture struct {
	reg      *testRegistry
	ref      string // by tag
	manifest v1.Hash
	img      v1.Image
	layer    v1.Hash
	blob     []byte
	config   v1.Hash
	// served counts the bytes an endless body sent.
	served atomic.Int64
}

// replaceBlob answers the GET of digest with body, with a Content-Length
// of length (none when negative).
func replaceBlob(digest v1.Hash, length int, body []byte) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !isBlob(req, digest) {
				next.ServeHTTP(w, req)
				return
			}
			if length >= 0 {
				w.Header().Set("Content-Length", strconv.Itoa(length))
			}
			w.WriteHeader(http.StatusOK)
			w.Write(body)
		})
	}
}

// endless writes prefix and then zeros until the client goes away,
// counting what it wrote. The Content-Length header is length unless
// negative.
func endless(w http.ResponseWriter, req *http.Request, length int64, prefix []byte, served *atomic.Int64) {
	if length >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(length, 10))
	}
	w.WriteHeader(http.StatusOK)
	w.Write(prefix)
	chunk := make([]byte, 32<<10)
	for req.Context().Err() == nil {
		n, err := w.Write(chunk)
		served.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// flip returns b with its byte at i changed.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}

func TestPullHostile(t *testing.T) {
	// limit is what an endless body may send before the pull gives up:
	// the 4 MiB cap on manifests (blobs stop at their size) and what the
	// loopback socket buffers can hold (tcp_rmem's and tcp_wmem's maxima,
	// 32 and 4 MiB by default); without the cap, go-containerregistry
	// would read 100 MiB of a manifest.
	const limit = 64 << 20
	for _, tc := range []struct {
		name string
		// plain: the layer is an uncompressed tar, so that a changed byte
		// passes the unpacker and only the digest tells.
		plain bool
		// byDigest pulls the image by its manifest digest.
		byDigest bool
		mw       func(fx *hostileFixture) middleware
		// want is wrapped by the error, when set; msg is in its text, with
		// {blob} and {config} standing for the layer's and config's digests.
		want error
		msg  string
		// restart: the partial file must be gone, so that the next pull
		// does not resume from bad bytes.
		restart bool
	}{
		{
			name:  "digest mismatch",
			plain: true,
			mw: func(fx *hostileFixture) middleware {
				return replaceBlob(fx.layer, len(fx.blob), flip(fx.blob, len(fx.blob)-2000))
			},
			want: ErrHostile, msg: "blob {blob}: digest mismatch", restart: true,
		},
		{
			name: "garbage body",
			mw: func(fx *hostileFixture) middleware {
				return replaceBlob(fx.layer, len(fx.blob), bytes.Repeat([]byte{'x'}, len(fx.blob)))
			},
			restart: true,
		},
		{
			name: "short body with short Content-Length",
			mw: func(fx *hostileFixture) middleware {
				return replaceBlob(fx.layer, len(fx.blob)/2, fx.blob[:len(fx.blob)/2])
			},
			want: ErrHostile, msg: "where the manifest says",
		},
		{
			name: "short body without Content-Length",
			mw: func(fx *hostileFixture) middleware {
				return replaceBlob(fx.layer, -1, fx.blob[:len(fx.blob)/2])
			},
			msg: "the manifest says",
		},
		{
			name: "endless blob",
			mw: func(fx *hostileFixture) middleware {
				return func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
						if !isBlob(req, fx.layer) {
							next.ServeHTTP(w, req)
							return
						}
						endless(w, req, -1, fx.blob, &fx.served)
					})
				}
			},
			want: ErrHostile, msg: "blob {blob}: longer than",
		},
		{
			name: "huge manifest",
			mw: func(fx *hostileFixture) middleware {
				return func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
						if !isManifest(req) {
							next.ServeHTTP(w, req)
							return
						}
						endless(w, req, 100<<20, nil, &fx.served)
					})
				}
			},
			want: ErrHostile, msg: "manifest",
		},
		{
			name: "endless manifest",
			mw: func(fx *hostileFixture) middleware {
				return func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
						if !isManifest(req) {
							next.ServeHTTP(w, req)
							return
						}
						endless(w, req, -1, []byte("{"), &fx.served)
					})
				}
			},
			want: ErrHostile, msg: "manifest",
		},
		{
			name: "redirect loop",
			mw: func(fx *hostileFixture) middleware {
				return func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
						if !isBlob(req, fx.layer) {
							next.ServeHTTP(w, req)
							return
						}
						http.Redirect(w, req, req.URL.Path, http.StatusFound)
					})
				}
			},
			msg: "redirects",
		},
		{
			name: "config digest mismatch",
			mw: func(fx *hostileFixture) middleware {
				raw, err := fx.img.RawConfigFile()
				if err != nil {
					panic(err)
				}
				// Same length, still JSON: a space for the first '{'
				// would be too easy to tell; change a letter.
				bad := bytes.Replace(raw, []byte(`"linux"`), []byte(`"LINUX"`), 1)
				return replaceBlob(fx.config, len(bad), bad)
			},
			msg: "config {config}",
		},
		{
			name:     "other manifest by digest",
			byDigest: true,
			mw: func(fx *hostileFixture) middleware {
				return func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
						if isManifest(req) && strings.HasSuffix(req.URL.Path, "/"+fx.manifest.String()) {
							req.URL.Path = strings.TrimSuffix(req.URL.Path, fx.manifest.String()) + "other"
						}
						next.ServeHTTP(w, req)
					})
				}
			},
			msg: "does not match requested digest",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newHostileFixture(t, tc.plain)
			reg := fx.reg
			reg.use(tc.mw(fx))
			st := newStore(t)
			ref := fx.ref
			if tc.byDigest {
				ref = reg.ref("test/hostile@" + fx.manifest.String())
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			_, err := Pull(ctx, st, ref, PullOptions{Options: opts()})

			if err == nil {
				t.Fatal("Pull succeeded")
			}
			t.Logf("error: %v", err)
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Pull = %v, want it to give up on its own", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Pull = %v, want an error wrapping %v", err, tc.want)
			}
			msg := strings.NewReplacer("{blob}", fx.layer.String(), "{config}", fx.config.String()).Replace(tc.msg)
			if !strings.Contains(err.Error(), msg) {
				t.Errorf("Pull = %v, want it to say %q", err, msg)
			}
			if n := fx.served.Load(); n > limit {
				t.Errorf("the pull read %d bytes of an endless body, want at most %d", n, limit)
			}
			assertNothingWritten(t, st)
			partial, err := st.PartialBlob(fx.layer.String())
			if err != nil {
				t.Fatal(err)
			}
			kept, err := os.ReadFile(partial)
			switch {
			case tc.restart && !os.IsNotExist(err):
				t.Errorf("partial file of a blob with bad content: %d bytes, %v; want none", len(kept), err)
			case err == nil && !bytes.Equal(kept, fx.blob[:min(len(kept), len(fx.blob))]):
				t.Errorf("partial file holds %d bytes that are not the blob's first", len(kept))
			}

			// The next pull from an honest registry succeeds: nothing the
			// hostile one sent stayed in the way.
			reg.use(func(next http.Handler) http.Handler {
				return openRanges(map[v1.Hash][]byte{fx.layer: fx.blob}, next)
			})
			p := pull(t, st, ref, PullOptions{})
			if p.Image.ID != fx.config.String() {
				t.Errorf("honest pull gave %s, want %s", p.Image.ID, fx.config)
			}
		})
	}
}

func newHostileFixture(t *testing.T, plain bool) *hostileFixture {
	t.Helper()
	fx := &hostileFixture{reg: newRegistry(t)}
	layer := gzipLayer(t, "hostile", 64<<10)
	if plain {
		layer = plainLayer(t, "hostile", 64<<10)
	}
	fx.img = newImage(t, runtime.GOARCH, layer)
	fx.ref = fx.reg.ref("test/hostile:v1")
	fx.manifest = push(t, fx.ref, fx.img)
	push(t, fx.reg.ref("test/hostile:other"), newImage(t, runtime.GOARCH, gzipLayer(t, "other", 1000)))
	var err error
	if fx.layer, err = layer.Digest(); err != nil {
		t.Fatal(err)
	}
	fx.blob = blobBytes(t, layer)
	fx.config = configDigest(t, fx.img)
	return fx
}

func TestPullLayerType(t *testing.T) {
	for _, tc := range []struct {
		mt  types.MediaType
		msg string
	}{
		{types.DockerForeignLayer, "foreign layer"},
		{types.OCIRestrictedLayer, "foreign layer"},
		{"application/vnd.example.model.weights", "is not an image layer"},
		{types.OCIConfigJSON, "is not an image layer"},
	} {
		t.Run(string(tc.mt), func(t *testing.T) {
			reg := newRegistry(t)
			layer := static.NewLayer(layerTar(t, "foreign", file{name: "x", size: 100}), tc.mt)
			ref := reg.ref("test/foreign:v1")
			push(t, ref, newImage(t, runtime.GOARCH, layer))
			st := newStore(t)
			reg.reset()

			_, err := Pull(context.Background(), st, ref, PullOptions{Options: opts()})

			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), string(tc.mt)) {
				t.Errorf("Pull = %v, want an error naming the media type and saying %q", err, tc.msg)
			}
			if got := reg.blobGets(); len(got) > 1 {
				t.Errorf("blob GETs %v, want at most the config's", got)
			}
			assertNothingWritten(t, st)
		})
	}
}
