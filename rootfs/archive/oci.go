package archive

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/dockah/dockah/rootfs"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types of manifests and indexes, OCI and docker's.
const (
	mediaOCIIndex       = v1.MediaTypeImageIndex
	mediaOCIManifest    = v1.MediaTypeImageManifest
	mediaDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	annotationRefName   = v1.AnnotationRefName
	annotationImageName = "io.containerd.image.name"
	maxIndexDepth       = 4
)

// Platform is the os/architecture[/variant] to pick from a multi-platform
// index.
type Platform struct {
	OS, Architecture, Variant string
}

// HostPlatform is linux on the machine's architecture.
func HostPlatform() Platform { return Platform{OS: "linux", Architecture: runtime.GOARCH} }

// ParsePlatform parses os/arch[/variant].
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Platform{}, fmt.Errorf("platform %q: want OS/ARCH[/VARIANT], such as linux/amd64", s)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// String returns OS/ARCH[/VARIANT].
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func (p Platform) matches(q *v1.Platform) bool {
	if q == nil {
		return true
	}
	return q.OS == p.OS && q.Architecture == p.Architecture && (p.Variant == "" || q.Variant == p.Variant)
}

// parseIndex parses an index.json or a nested index; pure for fuzzing.
func parseIndex(data []byte) (*v1.Index, error) {
	var idx v1.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("parse index: %w", err)
	}
	if idx.SchemaVersion != 2 {
		return nil, fmt.Errorf("parse index: schemaVersion %d, want 2", idx.SchemaVersion)
	}
	for _, d := range idx.Manifests {
		if _, err := blobName(d.Digest.String()); err != nil {
			return nil, fmt.Errorf("parse index: %w", err)
		}
	}
	return &idx, nil
}

// blobName is the layout path of a digest, refusing anything but sha256.
func blobName(d string) (string, error) {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("digest %q: want sha256: and 64 lower-case hex digits", d)
	}
	return "blobs/sha256/" + hex, nil
}

// readBlob reads a small blob and verifies its digest.
func readBlob(src source, d v1.Descriptor) ([]byte, error) {
	name, err := blobName(d.Digest.String())
	if err != nil {
		return nil, err
	}
	data, err := readDocument(src, name)
	if err != nil {
		return nil, err
	}
	if got := digestOf(data); got != d.Digest.String() {
		return nil, fmt.Errorf("blob %s: digest mismatch: content is %s", d.Digest, got)
	}
	return data, nil
}

// ociOptions choose what to take from a layout.
type ociOptions struct {
	all      bool
	platform Platform
}

// ociImages reads the images of an OCI layout: with all, every image the
// top index names; otherwise the one image, picking the platform from
// multi-platform indexes.
func ociImages(src source, opts ociOptions) ([]imageSpec, error) {
	data, err := readDocument(src, "index.json")
	if err != nil {
		return nil, err
	}
	idx, err := parseIndex(data)
	if err != nil {
		return nil, err
	}
	descs := idx.Manifests
	if !opts.all {
		if descs, err = pickPlatform(descs, opts.platform); err != nil {
			return nil, err
		}
		if len(descs) > 1 {
			return nil, fmt.Errorf("the layout holds %d images (%s): use --all", len(descs), strings.Join(refNames(descs), ", "))
		}
	}
	var specs []imageSpec
	for _, d := range descs {
		spec, err := ociImage(src, d, opts.platform, 0)
		if err != nil {
			return nil, err
		}
		names, err := annotatedNames(d)
		if err != nil {
			return nil, err
		}
		spec.names = names
		specs = append(specs, spec)
	}
	return specs, nil
}

// annotatedNames names an image by its org.opencontainers.image.ref.name
// (NAME:latest when it has no tag, localhost/NAME when it has no registry,
// as podman reads skopeo's oci:DIR:NAME), or by containerd's full
// io.containerd.image.name when ref.name is that name's short form or tag
// (as dockah and containerd write them) or absent. A containerd name that
// ref.name contradicts is stale (umoci repack keeps it) and loses.
func annotatedNames(d v1.Descriptor) ([]rootfs.Reference, error) {
	n, full := d.Annotations[annotationRefName], d.Annotations[annotationImageName]
	parse := rootfs.ParseLocalReference
	if full != "" {
		if fr, err := rootfs.ParseReference(full); err == nil &&
			(n == "" || n == full || n == fr.Familiar() || n == fr.Tag) {
			n, parse = full, rootfs.ParseReference
		}
	}
	if n == "" {
		return nil, nil
	}
	r, err := parse(n)
	if err != nil {
		return nil, fmt.Errorf("image %s: name annotation: %w", d.Digest, err)
	}
	return []rootfs.Reference{r}, nil
}

func refNames(descs []v1.Descriptor) []string {
	var names []string
	for _, d := range descs {
		n := d.Annotations[annotationRefName]
		if n == "" {
			n = d.Digest.String()
		}
		names = append(names, n)
	}
	return names
}

// pickPlatform keeps the descriptors for p, or those that name no
// platform; attestation manifests (unknown/unknown) never match.
func pickPlatform(descs []v1.Descriptor, p Platform) ([]v1.Descriptor, error) {
	var out []v1.Descriptor
	var seen []string
	for _, d := range descs {
		if d.Platform != nil {
			seen = append(seen, d.Platform.OS+"/"+d.Platform.Architecture)
		}
		if p.matches(d.Platform) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no image for %s (the index has %s); choose one with --platform", p, strings.Join(seen, ", "))
	}
	return out, nil
}

func ociImage(src source, d v1.Descriptor, p Platform, depth int) (imageSpec, error) {
	if depth > maxIndexDepth {
		return imageSpec{}, fmt.Errorf("index %s: nested more than %d deep", d.Digest, maxIndexDepth)
	}
	data, err := readBlob(src, d)
	if err != nil {
		return imageSpec{}, err
	}
	switch d.MediaType {
	case mediaOCIIndex, mediaDockerList:
		idx, err := parseIndex(data)
		if err != nil {
			return imageSpec{}, fmt.Errorf("index %s: %w", d.Digest, err)
		}
		descs, err := pickPlatform(idx.Manifests, p)
		if err != nil {
			return imageSpec{}, fmt.Errorf("index %s: %w", d.Digest, err)
		}
		return ociImage(src, descs[0], p, depth+1)
	case mediaOCIManifest, mediaDockerManifest, "":
		return ociManifest(src, d, data)
	}
	return imageSpec{}, fmt.Errorf("manifest %s: media type %q is not an image", d.Digest, d.MediaType)
}

func ociManifest(src source, d v1.Descriptor, data []byte) (imageSpec, error) {
	var m v1.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return imageSpec{}, fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	if m.MediaType == mediaOCIIndex {
		return imageSpec{}, fmt.Errorf("manifest %s: is an index", d.Digest)
	}
	cfg, err := readBlob(src, m.Config)
	if err != nil {
		return imageSpec{}, fmt.Errorf("manifest %s: config: %w", d.Digest, err)
	}
	spec := imageSpec{config: cfg}
	for _, l := range m.Layers {
		name, err := blobName(l.Digest.String())
		if err != nil {
			return imageSpec{}, fmt.Errorf("manifest %s: layer: %w", d.Digest, err)
		}
		spec.layers = append(spec.layers, blobRef{member: name, digest: l.Digest.String()})
	}
	return spec, nil
}
