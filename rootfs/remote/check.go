package remote

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/remote/registries"
)

// Check asks the registry (its mirrors first) for the manifest digest of
// the name ref is stored under, and pulls nothing: newer is true when the
// store's copy was not pulled by that digest, so that Pull with
// PullNewer would fetch it. An image the store lacks is newer, without a
// question to the registry. A registry that cannot be reached is an
// error. `dockah auto-update --dry-run` asks this.
func Check(ctx context.Context, st *rootfs.Store, ref string, opts PullOptions) (newer bool, digest string, err error) {
	r, id, err := st.LookupName(ref)
	if errors.Is(err, rootfs.ErrNotFound) {
		return true, "", nil
	}
	if err != nil {
		return false, "", err
	}
	endpoints := []registries.Endpoint{{Reference: r.String()}}
	if opts.Registries != nil {
		if endpoints, err = opts.Registries.Endpoints(r.String(), r.Digest != ""); err != nil {
			return false, "", err
		}
	}
	var errs []error
	for _, ep := range endpoints {
		gref, err := opts.reference(ep.Reference, ep.Insecure)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rt, err := opts.authenticated(ctx, gref.Context(), ep.Insecure, transport.PullScope)
		if err != nil {
			errs = append(errs, classify(err))
			continue
		}
		head, err := remote.Head(gref, remote.WithContext(ctx), remote.WithTransport(rt))
		if err != nil {
			errs = append(errs, classify(err))
			continue
		}
		digest = head.Digest.String()
		byDigest := rootfs.Reference{Name: r.Name, Digest: digest}
		img, err := st.Resolve(byDigest.String())
		return err != nil || img.ID != id, digest, nil
	}
	return false, "", fmt.Errorf("check %s: %w", r, errors.Join(errs...))
}
