package archive

import (
	"fmt"
	"io"
	"runtime"

	"github.com/dockah/dockah/rootfs"
)

// LayerSource is one layer of an image that does not come from an archive
// file, such as a registry's blob: Open streams it (plain, gzip or zstd)
// and is called only when the store lacks the layer.
type LayerSource struct {
	// Open returns the blob from its start.
	Open func() (io.ReadCloser, error)
	// Digest is the blob's digest, checked as it is read.
	Digest string
	// Size is the blob's length in bytes, for progress; 0 when unknown.
	Size int64
	// Verified says that Open's reader checks Digest itself and fails at
	// its end on a mismatch, so that it is not hashed twice.
	Verified bool
}

// ImportLayers stores an image from its config and streamed layers (bottom
// first, as the config's diff IDs) and points names at it. Layers already
// in the store are not opened; the others are unpacked while they stream,
// opts.Jobs at once, each verified against its blob digest and diff ID
// before it becomes visible, and the image only once all are stored.
func ImportLayers(st *rootfs.Store, config []byte, layers []LayerSource, names []rootfs.Reference, opts ImportOptions) (*rootfs.Image, error) {
	for i, l := range layers {
		if _, err := rootfs.ParseDigest(l.Digest); err != nil && !l.Verified {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	lk, err := beginWrite(st)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	return storeLayers(st, config, layers, names, opts)
}

// storeLayers checks config against layers, stores the layers, then the
// image and its names. The caller holds the store lock shared. A layer's
// Digest may be empty where the archive gives none.
func storeLayers(st *rootfs.Store, config []byte, layers []LayerSource, names []rootfs.Reference, opts ImportOptions) (*rootfs.Image, error) {
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.GOMAXPROCS(0)
	}
	cfg, err := checkConfig(config, len(layers))
	if err != nil {
		return nil, err
	}
	jobs := make([]layerJob, len(layers))
	for i, l := range layers {
		jobs[i] = layerJob{open: l.Open, diffID: cfg.RootFS.DiffIDs[i].String(), blob: l.Digest, total: l.Size}
		if l.Verified {
			jobs[i].blob = ""
		}
		if _, err := rootfs.ParseDigest(jobs[i].diffID); err != nil {
			return nil, fmt.Errorf("config %s: %w", digestOf(config), err)
		}
	}
	if _, err := importLayers(st, jobs, opts.layerOptions(), opts.Jobs); err != nil {
		return nil, err
	}
	return st.AddImage(config, names)
}
