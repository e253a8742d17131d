package remote

import (
	"context"
	"fmt"
	"io"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushOptions tune Push.
type PushOptions struct {
	Options
	// Progress, when set, receives the bytes uploaded so far and the
	// total, from one goroutine.
	Progress func(done, total int64)
}

// Push sends the image src names to dest (a name with a registry; empty:
// the name src matched in the store) as a Docker schema 2 image with gzip layers, and
// returns the manifest digest. The config goes unchanged, so the image ID
// stays the same on the other side; layers the registry has are not sent.
func Push(ctx context.Context, st *rootfs.Store, src, dest string, opts PushOptions) (string, error) {
	img, err := st.Resolve(src)
	if err != nil {
		return "", err
	}
	if dest == "" {
		r, _, err := st.LookupName(src)
		if err != nil || r.Registry() == "localhost" {
			return "", fmt.Errorf("push %s: name a destination with a registry, such as registry.example.com/%s", src, trimLocal(r))
		}
		dest = r.String()
	}
	r, err := rootfs.ParseReference(dest)
	if err != nil {
		return "", err
	}
	if r.Digest != "" {
		return "", fmt.Errorf("push to %s: a destination is a tag; the registry gives the digest", dest)
	}
	insecure := false
	if opts.Registries != nil {
		if reg, ok := opts.Registries.Find(r.String()); ok {
			if reg.Blocked {
				return "", fmt.Errorf("push to %s: blocked by registries.conf (prefix %q)", dest, reg.Prefix)
			}
			insecure = reg.Insecure
		}
	}
	gref, err := opts.reference(r.String(), insecure)
	if err != nil {
		return "", err
	}
	rt, err := opts.authenticated(ctx, gref.Context(), insecure, transport.PushScope)
	if err != nil {
		return "", classify(err)
	}
	v1img, err := partial.UncompressedToImage(storedImage{st: st, img: img})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", src, err)
	}
	wopts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(rt)}
	if opts.Progress != nil {
		updates := make(chan v1.Update, 16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for u := range updates {
				opts.Progress(u.Complete, u.Total)
			}
		}()
		defer func() { <-done }()
		wopts = append(wopts, remote.WithProgress(updates))
	}
	if err := remote.Write(gref, v1img, wopts...); err != nil {
		return "", fmt.Errorf("push %s to %s: %w", src, dest, classify(err))
	}
	digest, err := v1img.Digest()
	if err != nil {
		return "", err
	}
	if err := st.SetDigest(rootfs.Reference{Name: r.Name, Digest: digest.String()}, img.ID); err != nil {
		return digest.String(), err
	}
	return digest.String(), nil
}

func trimLocal(r rootfs.Reference) string {
	if r.Name == "" {
		return "NAME:TAG"
	}
	r.Name = r.Repository()
	return r.String()
}

// storedImage is a store image as go-containerregistry's uncompressed
// image: the config verbatim, layers rebuilt from their tar-splits.
type storedImage struct {
	st  *rootfs.Store
	img *rootfs.Image
}

func (s storedImage) RawConfigFile() ([]byte, error) { return s.img.RawConfig, nil }

// MediaType is Docker's schema 2, which go-containerregistry writes for an
// uncompressed image, with Docker layer types to match: every registry
// and client takes it.
func (s storedImage) MediaType() (types.MediaType, error) { return types.DockerManifestSchema2, nil }

func (s storedImage) LayerByDiffID(h v1.Hash) (partial.UncompressedLayer, error) {
	for _, l := range s.img.Layers {
		if l.DiffID == h.String() {
			return storedLayer{st: s.st, diffID: h}, nil
		}
	}
	return nil, fmt.Errorf("image %s has no layer %s", s.img.ID, h)
}

type storedLayer struct {
	st     *rootfs.Store
	diffID v1.Hash
}

func (l storedLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

func (l storedLayer) Uncompressed() (io.ReadCloser, error) {
	return archive.OpenLayer(l.st, l.diffID.String())
}

func (l storedLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
