package main

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// The repositories the layout's two images are pushed to.
const (
	bigRef = "bench/big:1"
	appRef = "bench/app:1"
)

const (
	mediaIndex    = "application/vnd.oci.image.index.v1+json"
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		Env []string `json:"Env"`
		Cmd []string `json:"Cmd"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// compressLayers gzips the plain tars in dir into dir/layout, all at
// once, and fills in their digests and sizes.
func compressLayers(layers []layerInfo, dir string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(layers))
	for i := range layers {
		wg.Go(func() {
			l := &layers[i]
			l.Digest, l.Size, errs[i] = gzipBlob(filepath.Join(dir, l.tarName()), filepath.Join(dir, "layout"))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// gzipBlob compresses the file src into a blob of layout, at gzip's
// default level, as docker and skopeo do.
func gzipBlob(src, layout string) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Join(layout, "blobs"), "layer-")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	bw, sum := bufio.NewWriterSize(tmp, 1<<20), newDigester()
	gz := gzip.NewWriter(io.MultiWriter(bw, sum))
	_, err = io.Copy(gz, bufio.NewReaderSize(in, 1<<20))
	if err = errors.Join(err, gz.Close(), bw.Flush(), tmp.Close()); err != nil {
		return "", 0, err
	}
	digest := sum.digest()
	return digest, sum.n, os.Rename(tmp.Name(), blobPath(layout, digest))
}

func blobPath(layout, digest string) string {
	return filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

// writeLayout writes the configs and manifests of bench/big (every layer
// but the last) and bench/app (all of them), tagged big and app, and the
// layout's index; it returns which image each config digest is.
func writeLayout(layout string, layers []layerInfo) (map[string]string, error) {
	configs := map[string]string{}
	var index []descriptor
	for _, img := range []struct {
		tag, ref string
		layers   []layerInfo
		cmd      []string
	}{
		{"big", bigRef, layers[:len(layers)-1], []string{"/bin/bash"}},
		{"app", appRef, layers, []string{"/usr/bin/python3", "/opt/app/run.py"}},
	} {
		var cfg imageConfig
		cfg.Architecture, cfg.OS = runtime.GOARCH, "linux"
		cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		cfg.Config.Cmd = img.cmd
		cfg.RootFS.Type = "layers"
		m := manifest{SchemaVersion: 2, MediaType: mediaManifest}
		for _, l := range img.layers {
			cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
			m.Layers = append(m.Layers, descriptor{MediaType: mediaLayer, Digest: l.Digest, Size: l.Size})
		}
		var err error
		if m.Config, err = writeJSONBlob(layout, mediaConfig, cfg); err != nil {
			return nil, err
		}
		configs[m.Config.Digest] = img.ref
		d, err := writeJSONBlob(layout, mediaManifest, m)
		if err != nil {
			return nil, err
		}
		d.Annotations = map[string]string{"org.opencontainers.image.ref.name": img.tag}
		index = append(index, d)
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mediaIndex, "manifests": index})
	return configs, errors.Join(
		os.WriteFile(filepath.Join(layout, "index.json"), idx, 0o644),
		os.WriteFile(filepath.Join(layout, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644))
}

func writeJSONBlob(layout, mediaType string, v any) (descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return descriptor{}, err
	}
	sum := sha256.Sum256(data)
	d := descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}
	return d, os.WriteFile(blobPath(layout, d.Digest), data, 0o644)
}
