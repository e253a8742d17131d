package archive

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/layer"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Format is an archive format Save writes.
type Format string

// The formats Save writes.
const (
	FormatOCI    Format = "oci"            // an OCI image layout in a tar
	FormatDocker Format = "docker-archive" // what docker load reads
)

// savedImage is one image to save and the name it is saved under.
type savedImage struct {
	img  *rootfs.Image
	name rootfs.Reference // zero for an image saved by ID
}

// Save writes the images refs name to w as one archive. Layers are written
// uncompressed and rebuilt byte for byte from their tar-split, so their
// digests, the config and the image ID are those of the import; a layer
// whose tree changed since is an error, not a different image.
func Save(st *rootfs.Store, refs []string, w io.Writer, format Format) error {
	lk, err := st.LockShared()
	if err != nil {
		return err
	}
	defer lk.Release()
	var imgs []savedImage
	for _, ref := range refs {
		img, err := st.Resolve(ref)
		if err != nil {
			return err
		}
		s := savedImage{img: img}
		if r, id, err := st.LookupName(ref); err == nil && id == img.ID && r.Tag != "" {
			r.Digest = ""
			s.name = r
		}
		imgs = append(imgs, s)
	}
	tw := &archiveWriter{tw: tar.NewWriter(w), seen: map[string]bool{}}
	switch format {
	case FormatOCI:
		err = saveOCI(st, tw, imgs)
	case FormatDocker:
		err = saveDocker(st, tw, imgs)
	default:
		err = fmt.Errorf("format %q (accepted: oci, docker-archive)", format)
	}
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := tw.tw.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// archiveWriter writes members once each, with fixed metadata so that
// saving twice gives the same bytes.
type archiveWriter struct {
	tw   *tar.Writer
	seen map[string]bool
}

var saveTime = time.Unix(0, 0).UTC()

func (a *archiveWriter) dir(name string) error {
	if a.seen[name] {
		return nil
	}
	a.seen[name] = true
	return a.tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: saveTime, Format: tar.FormatPAX})
}

func (a *archiveWriter) file(name string, data []byte) error {
	if a.seen[name] {
		return nil
	}
	a.seen[name] = true
	if err := a.tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: saveTime, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := a.tw.Write(data)
	return err
}

// layer writes a stored layer's tar, rebuilt from its tree and tar-split,
// and checks that its digest is still the diff ID.
func (a *archiveWriter) layer(st *rootfs.Store, diffID, name string) (int64, error) {
	info, err := st.LayerInfo(diffID)
	if err != nil {
		return 0, err
	}
	if a.seen[name] {
		return info.TarSize, nil
	}
	a.seen[name] = true
	split, err := os.Open(st.LayerSplit(diffID))
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", diffID, err)
	}
	defer split.Close()
	hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: info.TarSize, ModTime: saveTime, Format: tar.FormatPAX}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return 0, err
	}
	h := sha256.New()
	if err := layer.Rebuild(io.MultiWriter(a.tw, h), st.LayerTree(diffID), split); err != nil {
		return 0, fmt.Errorf("layer %s: %w", diffID, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID {
		return 0, fmt.Errorf("layer %s: its files changed since import (rebuilt as %s)", diffID, got)
	}
	return info.TarSize, nil
}

func saveDocker(st *rootfs.Store, a *archiveWriter, imgs []savedImage) error {
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []*entry
	byID := map[string]*entry{}
	for _, s := range imgs {
		e := byID[s.img.ID]
		if e == nil {
			hex := s.img.ID[len("sha256:"):]
			e = &entry{Config: hex + ".json", RepoTags: []string{}}
			if err := a.file(e.Config, s.img.RawConfig); err != nil {
				return err
			}
			for _, l := range s.img.Layers {
				lhex := l.DiffID[len("sha256:"):]
				if err := a.dir(lhex + "/"); err != nil {
					return err
				}
				if _, err := a.layer(st, l.DiffID, lhex+"/layer.tar"); err != nil {
					return err
				}
				e.Layers = append(e.Layers, lhex+"/layer.tar")
			}
			byID[s.img.ID] = e
			manifest = append(manifest, e)
		}
		if s.name.Name != "" {
			e.RepoTags = append(e.RepoTags, s.name.String())
		}
	}
	data, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	return a.file("manifest.json", data)
}

func saveOCI(st *rootfs.Store, a *archiveWriter, imgs []savedImage) error {
	if err := a.file(v1.ImageLayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := a.dir(d); err != nil {
			return err
		}
	}
	index := v1.Index{MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{}}
	index.SchemaVersion = 2
	for _, s := range imgs {
		desc, err := saveOCIManifest(st, a, s.img)
		if err != nil {
			return err
		}
		if s.name.Name != "" {
			// ref.name as docker would print it (what umoci and skopeo
			// take as the tag), the full name in containerd's annotation.
			desc.Annotations = map[string]string{annotationRefName: s.name.Familiar(), annotationImageName: s.name.String()}
		}
		index.Manifests = append(index.Manifests, desc)
	}
	data, err := json.Marshal(index)
	if err != nil {
		return err
	}
	return a.file("index.json", data)
}

func saveOCIManifest(st *rootfs.Store, a *archiveWriter, img *rootfs.Image) (v1.Descriptor, error) {
	m := v1.Manifest{
		MediaType: v1.MediaTypeImageManifest,
		Config:    v1.Descriptor{MediaType: v1.MediaTypeImageConfig, Digest: digest.Digest(img.ID), Size: int64(len(img.RawConfig))},
		Layers:    []v1.Descriptor{},
	}
	m.SchemaVersion = 2
	if err := a.file("blobs/sha256/"+img.ID[len("sha256:"):], img.RawConfig); err != nil {
		return v1.Descriptor{}, err
	}
	for _, l := range img.Layers {
		size, err := a.layer(st, l.DiffID, "blobs/sha256/"+l.DiffID[len("sha256:"):])
		if err != nil {
			return v1.Descriptor{}, err
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: v1.MediaTypeImageLayer, Digest: digest.Digest(l.DiffID), Size: size})
	}
	data, err := json.Marshal(m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d := digestOf(data)
	if err := a.file("blobs/sha256/"+d[len("sha256:"):], data); err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: v1.MediaTypeImageManifest, Digest: digest.Digest(d), Size: int64(len(data))}, nil
}

// OpenLayer streams a stored layer's tar, rebuilt byte for byte from its
// tree and tar-split, as push sends it. The reader fails at its end when
// the rebuilt tar no longer has the layer's diff ID (its files changed).
func OpenLayer(st *rootfs.Store, diffID string) (io.ReadCloser, error) {
	if _, err := st.LayerInfo(diffID); err != nil {
		return nil, err
	}
	split, err := os.Open(st.LayerSplit(diffID))
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", diffID, err)
	}
	pr, pw := io.Pipe()
	go func() {
		defer split.Close()
		h := sha256.New()
		err := layer.Rebuild(io.MultiWriter(pw, h), st.LayerTree(diffID), split)
		if err == nil {
			if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID {
				err = fmt.Errorf("layer %s: its files changed since import (rebuilt as %s)", diffID, got)
			}
		} else {
			err = fmt.Errorf("layer %s: %w", diffID, err)
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}
