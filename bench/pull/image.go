package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// The image: Debian's minbase with these packages, about 350 MiB.
var debPackages = []string{"python3", "perl", "git", "python3-numpy", "libicu72", "ca-certificates"}

const (
	suite  = "bookworm"
	mirror = "http://deb.debian.org/debian"
	// layering names how the tree is cut into layers; change it when
	// the cut or the app layer changes, and the cache is rebuilt.
	layering = "base,multiarch,usr/lib,usr/share+app4MiB"
	appData  = 4 << 20 // incompressible bytes in the app layer
)

// layerInfo is one gzip layer of the layout.
type layerInfo struct {
	Name    string `json:"name"`
	Digest  string `json:"digest"`
	Size    int64  `json:"size"`
	DiffID  string `json:"diff_id"`
	USize   int64  `json:"uncompressed_size"`
	Entries int    `json:"entries"`
}

// imageInfo is the built layout: bench/big is Layers but the last,
// bench/app all of Layers.
type imageInfo struct {
	Layout     string            `json:"-"`
	Packages   []string          `json:"packages"`
	Mmdebstrap time.Duration     `json:"mmdebstrap_ns"`
	Layering   time.Duration     `json:"layering_ns"`
	Layers     []layerInfo       `json:"layers"`
	Configs    map[string]string `json:"configs"` // config digest to image
}

// buildImage returns the cached layout, building it first if needed.
func buildImage(ctx context.Context, cacheRoot string) (*imageInfo, error) {
	key := sha256.Sum256([]byte(strings.Join(append([]string{suite, mirror, layering, runtime.GOARCH}, debPackages...), "\n")))
	dir := filepath.Join(cacheRoot, hex.EncodeToString(key[:6]))
	info := &imageInfo{Layout: filepath.Join(dir, "layout")}
	if data, err := os.ReadFile(filepath.Join(dir, "build.json")); err == nil {
		logf("image cached in %s", dir)
		return info, json.Unmarshal(data, info)
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "layout", "blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	logf("building the image with mmdebstrap into %s (once; one to three minutes)", tmp)
	t0 := time.Now()
	rootfs := filepath.Join(tmp, "rootfs.tar")
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--variant=minbase", "--include="+strings.Join(debPackages, ","), suite, rootfs, mirror)
	// Interrupted, mmdebstrap cleans up its chroot; killed, it cannot.
	cmd.Cancel, cmd.WaitDelay = func() error { return cmd.Process.Signal(syscall.SIGTERM) }, time.Minute
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mmdebstrap: %w\n%s", err, tail(string(out)))
	}
	info.Mmdebstrap, info.Packages = time.Since(t0), debPackages
	t1 := time.Now()
	layers, err := splitRootfs(rootfs, tmp)
	if err != nil {
		return nil, fmt.Errorf("split %s: %w", rootfs, err)
	}
	app, err := writeAppLayer(tmp)
	if err != nil {
		return nil, err
	}
	info.Layers = append(layers, app)
	if err := compressLayers(info.Layers, tmp); err != nil {
		return nil, err
	}
	if info.Configs, err = writeLayout(filepath.Join(tmp, "layout"), info.Layers); err != nil {
		return nil, err
	}
	info.Layering = time.Since(t1)
	for _, l := range info.Layers {
		os.Remove(filepath.Join(tmp, l.tarName()))
	}
	os.Remove(rootfs)
	data, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "build.json"), data, 0o644); err != nil {
		return nil, err
	}
	logf("image built in %s", time.Since(t0).Round(time.Second))
	return info, os.Rename(tmp, dir)
}

func (l layerInfo) tarName() string { return strings.ReplaceAll(l.Name, "/", "_") + ".tar" }

// cuts are the layers after the base, by path prefix; the first match
// wins, the rest of the tree and every directory go into the base.
func cuts() []string {
	multiarch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	return []string{"usr/lib/" + multiarch + "/", "usr/lib/", "usr/share/"}
}

// splitRootfs cuts mmdebstrap's tar into the base and the cuts, as
// plain tars in dir.
func splitRootfs(rootfs, dir string) ([]layerInfo, error) {
	in, err := os.Open(rootfs)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	names := append([]string{"base"}, cuts()...)
	out := make([]*tarFile, len(names))
	for i, n := range names {
		n = strings.TrimSuffix(n, "/")
		if out[i], err = createTar(filepath.Join(dir, layerInfo{Name: n}.tarName()), n); err != nil {
			return nil, err
		}
	}
	owner := map[string]int{} // the layer of each file, for hard links
	tr := tar.NewReader(bufio.NewReader(in))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		h.Name = strings.TrimPrefix(h.Name, "./")
		switch {
		case h.Name == "":
			continue // the root itself
		case h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock || h.Typeflag == tar.TypeFifo:
			continue // mmdebstrap's /dev; images carry none
		}
		layer := 0
		if h.Typeflag != tar.TypeDir {
			for i, prefix := range cuts() {
				if strings.HasPrefix(h.Name, prefix) {
					layer = i + 1
					break
				}
			}
		}
		if h.Typeflag == tar.TypeLink {
			// A hard link goes with its target, in the same layer.
			h.Linkname = strings.TrimPrefix(h.Linkname, "./")
			layer = owner[h.Linkname]
		}
		owner[h.Name] = layer
		if err := out[layer].add(h, tr); err != nil {
			return nil, err
		}
	}
	var infos []layerInfo
	for _, t := range out {
		if err := t.close(); err != nil {
			return nil, err
		}
		infos = append(infos, t.info)
	}
	return infos, nil
}

// writeAppLayer writes the second image's own layer into dir: /opt/app
// with a script and appData random bytes, the same on every build.
func writeAppLayer(dir string) (layerInfo, error) {
	name := "app (opt/app)"
	t, err := createTar(filepath.Join(dir, layerInfo{Name: name}.tarName()), name)
	if err != nil {
		return layerInfo{}, err
	}
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	data := make([]byte, appData)
	rand.NewChaCha8([32]byte{'d', 'o', 'c', 'k', 'a', 'h'}).Read(data)
	script := []byte("print('hello from the app layer')\n")
	errs := []error{
		t.add(&tar.Header{Name: "opt/app/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime}, nil),
		t.add(&tar.Header{Name: "opt/app/data.bin", Typeflag: tar.TypeReg, Mode: 0o644, Size: appData, ModTime: mtime}, bytes.NewReader(data)),
		t.add(&tar.Header{Name: "opt/app/run.py", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(script)), ModTime: mtime}, bytes.NewReader(script)),
		t.close(),
	}
	return t.info, errors.Join(errs...)
}

// tarFile writes a plain tar and its diff ID.
type tarFile struct {
	f    *os.File
	bw   *bufio.Writer
	tw   *tar.Writer
	sum  *digester
	info layerInfo
}

func createTar(path, name string) (*tarFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	t := &tarFile{f: f, bw: bufio.NewWriterSize(f, 1<<20), sum: newDigester(), info: layerInfo{Name: name}}
	t.tw = tar.NewWriter(io.MultiWriter(t.bw, t.sum))
	return t, nil
}

func (t *tarFile) add(h *tar.Header, r io.Reader) error {
	t.info.Entries++
	if err := t.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	if h.Typeflag == tar.TypeReg && h.Size > 0 {
		if _, err := io.Copy(t.tw, r); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	return nil
}

func (t *tarFile) close() error {
	err := errors.Join(t.tw.Close(), t.bw.Flush(), t.f.Close())
	t.info.DiffID, t.info.USize = t.sum.digest(), t.sum.n
	return err
}

// digester counts and hashes what is written to it.
type digester struct {
	h hash.Hash
	n int64
}

func newDigester() *digester { return &digester{h: sha256.New()} }

func (d *digester) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return d.h.Write(p)
}

func (d *digester) digest() string { return "sha256:" + hex.EncodeToString(d.h.Sum(nil)) }
