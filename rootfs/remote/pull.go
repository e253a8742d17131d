package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/rootfs/remote/registries"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Policy says when Pull goes to the registry, as podman's --pull does.
type Policy string

// The pull policies.
const (
	// PullAlways pulls every time and fails when the registry fails.
	PullAlways Policy = "always"
	// PullMissing pulls only when the store lacks the image.
	PullMissing Policy = "missing"
	// PullNewer pulls when the registry's digest differs from the one the
	// store's copy was pulled by, and keeps the store's copy when the
	// registry cannot be reached.
	PullNewer Policy = "newer"
	// PullNever never pulls.
	PullNever Policy = "never"
)

// ParsePolicy accepts always, missing, newer and never.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case PullAlways, PullMissing, PullNewer, PullNever:
		return p, nil
	}
	return "", fmt.Errorf("pull policy %q (accepted: always, missing, newer, never)", s)
}

// PullOptions tune Pull.
type PullOptions struct {
	Options
	// Policy is when to go to the registry; "" means always.
	Policy Policy
	// Platform is picked from multi-platform indexes; zero means the host.
	Platform archive.Platform
	// Import tunes how layers are stored: limits, devices, progress, and
	// how many layers download and unpack at once (0: at least 4).
	Import archive.ImportOptions
}

// Pulled says what Pull did.
type Pulled struct {
	// Image is the image in the store.
	Image *rootfs.Image
	// Reference is the name it is stored under.
	Reference rootfs.Reference
	// Digest is the manifest digest the registry gave, "" when the
	// store's copy was used without asking.
	Digest string
	// Fetched is false when the store's copy was used.
	Fetched bool
}

// maxConfigSize bounds image configs; real ones are a few KiB.
const maxConfigSize = 8 << 20

// Pull fetches the image ref names into the store, per opts.Policy. A
// short name is resolved through registries.conf (aliases, then the
// unqualified-search registries, tried in order) or, without either, as
// Docker does (nginx is docker.io/library/nginx); mirrors are tried before
// the registry itself.
func Pull(ctx context.Context, st *rootfs.Store, ref string, opts PullOptions) (*Pulled, error) {
	if _, err := rootfs.ParseReference(ref); err != nil {
		return nil, err
	}
	if opts.Policy == "" {
		opts.Policy = PullAlways
	}
	if opts.Policy == PullMissing || opts.Policy == PullNever {
		img, err := st.Resolve(ref)
		if err == nil {
			r, _, _ := st.LookupName(ref)
			return &Pulled{Image: img, Reference: r}, nil
		}
		if !errors.Is(err, rootfs.ErrNotFound) || opts.Policy == PullNever {
			return nil, err
		}
	}
	candidates, short, err := opts.candidates(ref)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, c := range candidates {
		p, err := pullCandidate(ctx, st, c, opts)
		if err == nil {
			if short {
				// Definitions that say the short name find this image.
				if err := st.RecordShortName(shortPath(ref), c.Name); err != nil {
					return p, err
				}
			}
			return p, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// candidates are the fully qualified names to try for ref.
func (o PullOptions) candidates(ref string) ([]rootfs.Reference, bool, error) {
	if !rootfs.IsShortName(ref) || !o.resolvesShortNames(ref) {
		r, err := rootfs.ParseReference(ref)
		return []rootfs.Reference{r}, rootfs.IsShortName(ref), err
	}
	names, err := o.Registries.ResolveShortName(ref)
	if err != nil {
		return nil, true, err
	}
	var out []rootfs.Reference
	for _, n := range names {
		r, err := rootfs.ParseReference(n)
		if err != nil {
			return nil, true, fmt.Errorf("short name %s resolves to %s: %w", ref, n, err)
		}
		out = append(out, r)
	}
	return out, true, nil
}

// resolvesShortNames reports whether registries.conf has a say in where
// the short name ref lives: an alias for it or search registries.
func (o PullOptions) resolvesShortNames(ref string) bool {
	if o.Registries == nil {
		return false
	}
	return len(o.Registries.UnqualifiedSearchRegistries) > 0 || o.Registries.Aliases[shortPath(ref)] != ""
}

// shortPath is a short name without tag and digest: the repository of
// its local form (localhost/PATH).
func shortPath(ref string) string {
	r, _ := rootfs.ParseLocalReference(ref)
	return r.Repository()
}

// pullCandidate pulls one fully qualified name, from its mirrors first.
func pullCandidate(ctx context.Context, st *rootfs.Store, r rootfs.Reference, opts PullOptions) (*Pulled, error) {
	endpoints := []registries.Endpoint{{Reference: r.String()}}
	if opts.Registries != nil {
		eps, err := opts.Registries.Endpoints(r.String(), r.Digest != "")
		if err != nil {
			return nil, err
		}
		endpoints = eps
	}
	var errs []error
	for _, ep := range endpoints {
		p, err := pullEndpoint(ctx, st, r, ep, opts)
		if err == nil {
			return p, nil
		}
		if ep.Mirror {
			err = fmt.Errorf("mirror %s: %w", ep.Reference, err)
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("pull %s: %w", r, errors.Join(errs...))
}

// pullEndpoint pulls r from one place.
func pullEndpoint(ctx context.Context, st *rootfs.Store, r rootfs.Reference, ep registries.Endpoint, opts PullOptions) (*Pulled, error) {
	gref, err := opts.reference(ep.Reference, ep.Insecure)
	if err != nil {
		return nil, err
	}
	rt, err := opts.authenticated(ctx, gref.Context(), ep.Insecure, transport.PullScope)
	if err != nil {
		if opts.Policy == PullNewer {
			return useLocal(st, r, err)
		}
		return nil, classify(err)
	}
	if opts.Policy == PullNewer {
		if p, ok := upToDate(ctx, st, r, gref, rt); ok {
			return p, nil
		}
	}
	platform := opts.Platform
	if platform == (archive.Platform{}) {
		platform = archive.HostPlatform()
	}
	desc, err := remote.Get(gref, remote.WithContext(ctx), remote.WithTransport(rt),
		remote.WithPlatform(v1.Platform{OS: platform.OS, Architecture: platform.Architecture, Variant: platform.Variant}))
	if err != nil {
		if opts.Policy == PullNewer {
			// Reachable but failing (a 5xx, say) counts as unreachable.
			return useLocal(st, r, err)
		}
		return nil, classify(err)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, classify(err))
	}
	return storeImage(ctx, st, r, gref, rt, desc.Digest.String(), img, opts)
}

// upToDate reports whether the store's copy of r was pulled by the digest
// the registry now gives for it.
func upToDate(ctx context.Context, st *rootfs.Store, r rootfs.Reference, gref name.Reference, rt http.RoundTripper) (*Pulled, bool) {
	local, err := st.Resolve(r.String())
	if err != nil {
		return nil, false
	}
	head, err := remote.Head(gref, remote.WithContext(ctx), remote.WithTransport(rt))
	if err != nil {
		return nil, false
	}
	byDigest := rootfs.Reference{Name: r.Name, Digest: head.Digest.String()}
	if img, err := st.Resolve(byDigest.String()); err == nil && img.ID == local.ID {
		return &Pulled{Image: local, Reference: r, Digest: byDigest.Digest}, true
	}
	return nil, false
}

// useLocal is PullNewer's answer when the registry cannot be reached.
func useLocal(st *rootfs.Store, r rootfs.Reference, cause error) (*Pulled, error) {
	img, err := st.Resolve(r.String())
	if err != nil {
		return nil, fmt.Errorf("%w (and the store has no copy)", classify(cause))
	}
	return &Pulled{Image: img, Reference: r}, nil
}

// storeImage streams img's layers into the store and names it.
func storeImage(ctx context.Context, st *rootfs.Store, r rootfs.Reference, gref name.Reference, rt http.RoundTripper, top string, img v1.Image, opts PullOptions) (*Pulled, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", classify(err))
	}
	if m.Config.Size > maxConfigSize {
		return nil, fmt.Errorf("config %s: %d bytes, more than %d: %w", m.Config.Digest, m.Config.Size, maxConfigSize, ErrHostile)
	}
	// A config the store has is not fetched again: an image's ID is its
	// config's digest.
	var config []byte
	if have, err := st.Resolve(m.Config.Digest.String()); err == nil {
		config = have.RawConfig
	} else if config, err = img.RawConfigFile(); err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, classify(err))
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	client := httpClient(rt)
	repo := gref.Context()
	var layers []archive.LayerSource
	var partials []string
	for _, l := range m.Layers {
		if err := checkLayerType(l); err != nil {
			return nil, err
		}
		partial, err := st.PartialBlob(l.Digest.String())
		if err != nil {
			return nil, err
		}
		partials = append(partials, partial)
		fetch := blobFetch{client: client, digest: l.Digest.String(), size: l.Size, partial: partial,
			url: "https://" + repo.RegistryStr() + "/v2/" + repo.RepositoryStr() + "/blobs/" + l.Digest.String()}
		layers = append(layers, archive.LayerSource{
			Open:     func() (io.ReadCloser, error) { return fetch.open(ctx) },
			Digest:   l.Digest.String(),
			Size:     l.Size,
			Verified: true,
		})
	}
	names := pulledNames(r, top, digest.String())
	iopts := opts.Import
	if iopts.Jobs <= 0 {
		iopts.Jobs = max(4, runtime.GOMAXPROCS(0))
	}
	stored, err := archive.ImportLayers(st, config, layers, names, iopts)
	if err != nil {
		return nil, err
	}
	for _, p := range partials {
		os.Remove(p)
	}
	return &Pulled{Image: stored, Reference: r, Digest: top, Fetched: true}, nil
}

// pulledNames are the names an image pulled as r gets: r itself (by tag),
// and r's repository by the digest the registry gave and by the image
// manifest's digest when the first was an index.
func pulledNames(r rootfs.Reference, top, manifest string) []rootfs.Reference {
	var names []rootfs.Reference
	if r.Tag != "" {
		names = append(names, rootfs.Reference{Name: r.Name, Tag: r.Tag})
	}
	names = append(names, rootfs.Reference{Name: r.Name, Digest: top})
	if manifest != top {
		names = append(names, rootfs.Reference{Name: r.Name, Digest: manifest})
	}
	return names
}

// checkLayerType accepts the layer media types dockah unpacks.
func checkLayerType(l v1.Descriptor) error {
	switch l.MediaType {
	case types.OCILayer, types.OCIUncompressedLayer, types.OCILayerZStd, types.DockerLayer, types.DockerUncompressedLayer:
		return nil
	case types.DockerForeignLayer, types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer:
		return fmt.Errorf("layer %s: foreign layer %s (Windows base layers) cannot be run here", l.Digest, l.MediaType)
	}
	return fmt.Errorf("layer %s: media type %q is not an image layer (accepted: OCI and Docker tar layers, plain, gzip or zstd)", l.Digest, l.MediaType)
}
