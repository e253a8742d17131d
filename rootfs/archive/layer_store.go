package archive

import (
	"fmt"
	"io"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/layer"
)

// StoreLayer stores the layer tar that open streams (plain, gzip or
// zstd), unless the store has it, and returns its record: how a build
// stores a layer it made from files. The caller holds the store lock
// shared (rootfs.Store.LockShared) until an image names the layer, so
// that no prune removes it meanwhile.
func StoreLayer(st *rootfs.Store, open func() (io.ReadCloser, error), progress func(Event)) (rootfs.LayerInfo, error) {
	infos, err := importLayers(st, []layerJob{{open: open}}, layerOptions{progress: progress}, 1)
	if err != nil {
		return rootfs.LayerInfo{}, err
	}
	return infos[0], nil
}

// CommitLayer stores the writable layer of container as a layer (deleted
// files and replaced directories as whiteouts) and returns its record,
// as Commit does before it makes the image. The caller holds the store
// lock shared, as for StoreLayer.
//
// shift is the range a container with a user namespace wrote its layer
// with (zero for one in the host's): the layer gets the container's IDs.
func CommitLayer(st *rootfs.Store, container string, progress func(Event), shift layer.IDShift) (rootfs.LayerInfo, error) {
	upper, err := writableLayer(st, container)
	if err != nil {
		return rootfs.LayerInfo{}, err
	}
	info, err := StoreLayer(st, func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(layer.DiffShifted(pw, upper, shift)) }()
		return pr, nil
	}, progress)
	if err != nil {
		return rootfs.LayerInfo{}, fmt.Errorf("commit %s: %w", container, err)
	}
	return info, nil
}
