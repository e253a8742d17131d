package archive

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/dockah/dockah/rootfs"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// importRootfs stores a plain root filesystem tar as a one-layer image
// whose config comes from the options.
func importRootfs(st *rootfs.Store, src *tarSource, ref rootfs.Reference, opts ImportOptions) ([]*rootfs.Image, error) {
	if ref.Name == "" {
		return nil, fmt.Errorf("import: a root filesystem tar needs --name")
	}
	info, err := src.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	job := layerJob{
		open:  func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(src.f, 0, info.Size())), nil },
		total: info.Size(),
	}
	infos, err := importLayers(st, []layerJob{job}, opts.layerOptions(), 1)
	if err != nil {
		return nil, err
	}
	cfg := rootfsConfig(opts.Config, infos[0].DiffID, time.Now().UTC(), opts.Platform)
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	img, err := st.AddImage(data, []rootfs.Reference{ref})
	if err != nil {
		return nil, err
	}
	return []*rootfs.Image{img}, nil
}

func rootfsConfig(c v1.ImageConfig, diffID string, now time.Time, p Platform) v1.Image {
	return v1.Image{
		Created:  &now,
		Platform: v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
		Config:   c,
		RootFS:   v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.Digest(diffID)}},
		History:  []v1.History{{Created: &now, CreatedBy: "dockah image import"}},
	}
}
