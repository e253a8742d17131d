package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/layer"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// Name names the image: required for a root filesystem tar, and
	// replaces the archive's names when it holds a single image.
	Name string
	// All imports every image of an OCI layout's index.
	All bool
	// Platform is picked from multi-platform indexes; zero means the host.
	Platform Platform
	// Config sets the config of an image made from a root filesystem tar.
	Config v1.ImageConfig
	// Limits bound each layer; zero fields take layer.DefaultLimits.
	Limits layer.Limits
	// AllowDevices lets device nodes other than whiteouts into layers.
	AllowDevices bool
	// Progress, when set, receives layer events, from several goroutines
	// at once.
	Progress func(Event)
	// Jobs is how many layers are unpacked at once; 0 means one per CPU.
	Jobs int
}

func (o ImportOptions) layerOptions() layerOptions {
	return layerOptions{limits: o.Limits, allowDevices: o.AllowDevices, progress: o.Progress}
}

// Import reads the docker-archive, OCI layout (directory or tar) or root
// filesystem tar at path into the store, telling the kinds apart by
// content, and returns the images it stored. An image becomes visible
// only once all its layers are stored; a killed import leaves work in
// ROOT/tmp that the next command removes.
func Import(st *rootfs.Store, path string, opts ImportOptions) ([]*rootfs.Image, error) {
	if opts.Platform == (Platform{}) {
		opts.Platform = HostPlatform()
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.GOMAXPROCS(0)
	}
	var ref rootfs.Reference
	if opts.Name != "" {
		r, err := rootfs.ParseLocalReference(opts.Name)
		if err != nil {
			return nil, err
		}
		ref = r
	}
	lk, err := beginWrite(st)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	spoolDir, err := st.TempDir()
	if err != nil {
		return nil, err
	}
	defer spoolDir.Remove()
	spool, err := os.Create(filepath.Join(spoolDir.Path, "archive.tar"))
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	defer spool.Close()
	src, err := openSource(path, spool)
	if err != nil {
		return nil, err
	}
	defer src.close()
	specs, err := readSpecs(src, opts)
	if errors.Is(err, errRootfsTar) {
		return importRootfs(st, src.(*tarSource), ref, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	if opts.Name != "" {
		if len(specs) != 1 {
			return nil, fmt.Errorf("import %s: --name names one image, the archive has %d", path, len(specs))
		}
		specs[0].names = []rootfs.Reference{ref}
	}
	var imgs []*rootfs.Image
	for _, spec := range specs {
		img, err := importImage(st, src, spec, opts)
		if err != nil {
			return imgs, fmt.Errorf("import %s: %w", path, err)
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// beginWrite starts a command that adds to the store: it removes what
// killed commands left, then takes the store lock shared.
func beginWrite(st *rootfs.Store) (*rootfs.Lock, error) {
	if err := st.CleanTemp(); err != nil {
		return nil, err
	}
	return st.LockShared()
}

// maxLayers is overlayfs's limit on stacked lower dirs.
const maxLayers = 500

// errRootfsTar says that an archive holds no image metadata.
var errRootfsTar = errors.New("a root filesystem tar")

// readSpecs tells the archive's kind by its content.
func readSpecs(src source, opts ImportOptions) ([]imageSpec, error) {
	switch {
	case src.has("manifest.json"):
		return dockerImages(src)
	case src.has("index.json"):
		return ociImages(src, ociOptions{all: opts.All, platform: opts.Platform})
	}
	if _, ok := src.(*tarSource); ok {
		return nil, errRootfsTar
	}
	return nil, fmt.Errorf("not an image: no manifest.json (docker-archive) or index.json (OCI layout)")
}

// importImage checks an image's config against its layers, stores the
// layers, then the image.
func importImage(st *rootfs.Store, src source, spec imageSpec, opts ImportOptions) (*rootfs.Image, error) {
	layers := make([]LayerSource, len(spec.layers))
	for i, l := range spec.layers {
		member := l.member
		layers[i] = LayerSource{
			Open:   func() (io.ReadCloser, error) { return src.open(member) },
			Digest: l.digest,
			Size:   memberSize(src, member),
		}
	}
	return storeLayers(st, spec.config, layers, spec.names, opts)
}

// checkConfig parses an image config and checks it against the number of
// layers the manifest lists.
func checkConfig(config []byte, layers int) (v1.Image, error) {
	var cfg v1.Image
	if err := json.Unmarshal(config, &cfg); err != nil {
		return cfg, fmt.Errorf("parse config %s: %w", digestOf(config), err)
	}
	if layers > maxLayers {
		return cfg, fmt.Errorf("config %s: %d layers, more than overlayfs stacks (%d): %w", digestOf(config), layers, maxLayers, rootfs.ErrUnsafePath)
	}
	if cfg.RootFS.Type != "layers" || len(cfg.RootFS.DiffIDs) != layers {
		return cfg, fmt.Errorf("config %s: rootfs has %d diff IDs of type %q for %d layers", digestOf(config), len(cfg.RootFS.DiffIDs), cfg.RootFS.Type, layers)
	}
	return cfg, nil
}

func memberSize(src source, name string) int64 {
	switch s := src.(type) {
	case *tarSource:
		m, _ := s.lookup(name)
		return m.size
	case dirSource:
		if info, err := s.root.Stat(cleanMember(name)); err == nil {
			return info.Size()
		}
	}
	return 0
}
