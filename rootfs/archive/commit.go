package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/layer"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrNoWritableLayer is the error of Commit for a container that has no
// writable layer: one planned with a read-only root (MountOptions.ReadOnly)
// has only the image's layers, and nothing to commit.
var ErrNoWritableLayer = errors.New("no writable layer")

// CommitOptions tune Commit.
type CommitOptions struct {
	// Author and Message go into the history entry.
	Author, Message string
	// Progress receives the new layer's events.
	Progress func(Event)
	// Shift is the range of host IDs of a container with a user
	// namespace, whose writable layer holds them: the layer is written
	// with the container's own IDs.
	Shift layer.IDShift
}

// Commit turns the writable layer of container into a new layer on top of
// the image the container was last planned on, and names the result ref.
// The new config is the old one with the layer's diff ID and a history
// entry added. Commit a stopped container: a running one may change its
// files while they are read. A container without a writable layer is
// ErrNoWritableLayer.
func Commit(st *rootfs.Store, container, ref string, opts CommitOptions) (*rootfs.Image, error) {
	r, err := rootfs.ParseLocalReference(ref)
	if err != nil {
		return nil, err
	}
	lk, err := beginWrite(st)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	baseID, err := st.ContainerImage(container)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", container, err)
	}
	base, err := st.Resolve(baseID)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", container, err)
	}
	info, err := CommitLayer(st, container, opts.Progress, opts.Shift)
	if err != nil {
		return nil, err
	}
	// The whole configuration, history and platform too: the store
	// keeps only what a start needs parsed.
	var baseConfig v1.Image
	if err := json.Unmarshal(base.RawConfig, &baseConfig); err != nil {
		return nil, fmt.Errorf("commit %s: config of image %s: %w", container, base.ID, err)
	}
	cfg := committedConfig(baseConfig, info.DiffID, container, opts, time.Now().UTC())
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", container, err)
	}
	return st.AddImage(data, []rootfs.Reference{r})
}

// writableLayer returns the upper directory of container, or
// ErrNoWritableLayer when it has none.
func writableLayer(st *rootfs.Store, container string) (string, error) {
	upper, err := st.ContainerUpper(container)
	if err != nil {
		return "", err
	}
	_, err = os.Lstat(upper)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("container %s has %w: nothing to commit", container, ErrNoWritableLayer)
	}
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", container, err)
	}
	return upper, nil
}

func committedConfig(cfg v1.Image, diffID, container string, opts CommitOptions, now time.Time) v1.Image {
	cfg.Created = &now
	if opts.Author != "" {
		cfg.Author = opts.Author
	}
	cfg.RootFS.DiffIDs = append(append([]digest.Digest(nil), cfg.RootFS.DiffIDs...), digest.Digest(diffID))
	cfg.History = append(append([]v1.History(nil), cfg.History...), v1.History{
		Created:   &now,
		CreatedBy: "dockah commit " + container,
		Author:    opts.Author,
		Comment:   opts.Message,
	})
	return cfg
}
