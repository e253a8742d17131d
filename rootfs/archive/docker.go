package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/dockah/dockah/rootfs"
)

// imageSpec is one image found in an archive, before import.
type imageSpec struct {
	names  []rootfs.Reference
	config []byte
	layers []blobRef
}

// blobRef names a layer blob in the archive.
type blobRef struct {
	member string
	digest string // digest of the blob as stored; "" when the format gives none
}

// dockerManifestEntry is one element of a docker-archive's manifest.json.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// parseDockerManifest parses manifest.json; it is pure for the fuzz test.
func parseDockerManifest(data []byte) ([]dockerManifestEntry, error) {
	var entries []dockerManifestEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("parse manifest.json: %w", err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("parse manifest.json: no images")
	}
	for i, e := range entries {
		if e.Config == "" {
			return nil, fmt.Errorf("parse manifest.json: image %d has no Config", i)
		}
		for _, t := range e.RepoTags {
			if _, err := rootfs.ParseReference(t); err != nil {
				return nil, fmt.Errorf("parse manifest.json: image %d: %w", i, err)
			}
		}
	}
	return entries, nil
}

// dockerImages reads the images of a docker-archive (docker save, podman
// save).
func dockerImages(src source) ([]imageSpec, error) {
	data, err := readDocument(src, "manifest.json")
	if err != nil {
		return nil, err
	}
	entries, err := parseDockerManifest(data)
	if err != nil {
		return nil, err
	}
	var specs []imageSpec
	for _, e := range entries {
		cfg, err := readDocument(src, e.Config)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		// The config's file name is its digest: blobs/sha256/HEX or HEX.json.
		if hex := strings.TrimSuffix(path.Base(e.Config), ".json"); len(hex) == 64 && digestOf(cfg) != "sha256:"+hex {
			return nil, fmt.Errorf("config %s: digest mismatch: content is %s", e.Config, digestOf(cfg))
		}
		spec := imageSpec{config: cfg}
		for _, t := range e.RepoTags {
			r, _ := rootfs.ParseReference(t)
			spec.names = append(spec.names, r)
		}
		for _, l := range e.Layers {
			ref := blobRef{member: l}
			// Newer docker saves an OCI layout inside: the name is the digest.
			if dir, hex := path.Split(cleanMember(l)); dir == "blobs/sha256/" && len(hex) == 64 {
				ref.digest = "sha256:" + hex
			}
			spec.layers = append(spec.layers, ref)
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
