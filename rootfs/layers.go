package rootfs

import (
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// LayerInfo is layers/sha256/HEX/info.json: what the store knows of one
// unpacked layer.
type LayerInfo struct {
	// DiffID is the digest of the layer's uncompressed tar.
	DiffID string `json:"diffID"`
	// Link is the short name under ROOT/l/ that points at the tree.
	Link string `json:"link"`
	// TarSize is the length of the uncompressed tar in bytes.
	TarSize int64 `json:"tarSize"`
	// Size is the bytes of file content the tree holds.
	Size int64 `json:"size"`
}

// Files inside a layer's directory.
const (
	layerTree  = "diff"      // the unpacked tree, an overlayfs lower dir
	layerSplit = "tar-split" // what it takes to rebuild the exact tar
	layerInfo  = "info.json"
)

// LayerTree returns the directory an unpacked layer's files live in.
func (s *Store) LayerTree(diffID string) string {
	hex, _ := digestHex(diffID)
	return s.path(dirLayers, hex, layerTree)
}

// LayerSplit returns the file that, with the tree, rebuilds the layer's
// tar byte for byte (see rootfs/layer).
func (s *Store) LayerSplit(diffID string) string {
	hex, _ := digestHex(diffID)
	return s.path(dirLayers, hex, layerSplit)
}

// LayerInfo reads a stored layer's record; ErrNotFound when the layer is
// not stored.
func (s *Store) LayerInfo(diffID string) (LayerInfo, error) {
	hex, err := digestHex(diffID)
	if err != nil {
		return LayerInfo{}, err
	}
	data, err := os.ReadFile(s.path(dirLayers, hex, layerInfo))
	if errors.Is(err, fs.ErrNotExist) {
		return LayerInfo{}, fmt.Errorf("layer %s: %w", diffID, ErrNotFound)
	}
	if err != nil {
		return LayerInfo{}, fmt.Errorf("read layer %s: %w", diffID, err)
	}
	var info LayerInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return LayerInfo{}, fmt.Errorf("read layer %s: %w", diffID, err)
	}
	return info, nil
}

// HasLayer reports whether the layer is stored.
func (s *Store) HasLayer(diffID string) bool {
	_, err := s.LayerInfo(diffID)
	return err == nil
}

// InstallLayer moves an unpacked layer into the store. tmp is a TempDir
// holding the tree in "diff" and the tar-split in "tar-split". The caller
// holds the store lock shared and the layer's lock. If the layer is
// already stored, InstallLayer returns its record and leaves tmp alone
// for the caller to remove: a layer is stored once.
func (s *Store) InstallLayer(tmp *TempDir, info LayerInfo) (LayerInfo, error) {
	hexID, err := digestHex(info.DiffID)
	if err != nil {
		return LayerInfo{}, err
	}
	if old, err := s.LayerInfo(info.DiffID); err == nil {
		return old, nil
	}
	if err := s.mkdirs(); err != nil {
		return LayerInfo{}, err
	}
	// The tree was written without fsync per file; one syncfs makes all of
	// it durable before the rename makes it visible.
	if err := unix.Syncfs(int(tmp.lock.Fd())); err != nil {
		return LayerInfo{}, fmt.Errorf("install layer %s: sync: %w", info.DiffID, err)
	}
	info.Link, err = s.allocLink(hexID)
	if err != nil {
		return LayerInfo{}, fmt.Errorf("install layer %s: %w", info.DiffID, err)
	}
	data, err := json.Marshal(info)
	if err != nil {
		return LayerInfo{}, fmt.Errorf("install layer %s: %w", info.DiffID, err)
	}
	if err := writeFileAtomic(filepath.Join(tmp.Path, layerInfo), data, 0o600); err != nil {
		return LayerInfo{}, fmt.Errorf("install layer %s: %w", info.DiffID, err)
	}
	dst := s.path(dirLayers, hexID)
	if err := os.Rename(tmp.Path, dst); err != nil {
		if old, err2 := s.LayerInfo(info.DiffID); err2 == nil {
			return old, nil
		}
		return LayerInfo{}, fmt.Errorf("install layer %s: %w", info.DiffID, err)
	}
	tmp.Path, tmp.installed = dst, true
	if err := syncDir(s.path(dirLayers)); err != nil {
		return LayerInfo{}, fmt.Errorf("install layer %s: %w", info.DiffID, err)
	}
	return info, nil
}

var linkEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// allocLink creates ROOT/l/SHORT -> ../layers/sha256/HEX/diff. SHORT is
// the first 12 base32 characters of the digest (26 bytes of path per lower
// dir with the default root, so ~140 layers fit in overlayfs's one-page
// mount options), longer only if another layer already holds the prefix.
func (s *Store) allocLink(hexID string) (string, error) {
	raw, err := hex.DecodeString(hexID)
	if err != nil {
		return "", err
	}
	full := linkEncoding.EncodeToString(raw)
	target := filepath.Join("..", dirLayers, hexID, layerTree)
	for n := 12; n <= len(full); n++ {
		name := toLower(full[:n])
		p := s.path(dirLinks, name)
		err := os.Symlink(target, p)
		if err == nil {
			return name, syncDir(s.path(dirLinks))
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("link layer: %w", err)
		}
		// A link left by an install that crashed before its rename points
		// at the same target and is taken over.
		if old, err := os.Readlink(p); err == nil && old == target {
			return name, nil
		}
	}
	return "", fmt.Errorf("link layer: no free short name for %s", hexID)
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
