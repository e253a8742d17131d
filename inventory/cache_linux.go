package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/merged"
)

// CacheDir is the directory of the store that holds the inventories,
// one HEX.json per layer chain.
const CacheDir = "inventory"

// maxCacheEntry bounds a cached inventory read back.
const maxCacheEntry = 256 << 20

// ChainID is the OCI chain ID of layers given by their diff IDs, bottom
// first: the first diff ID, then sha256 of "CHAIN DIFFID" for each
// layer above. Two images with the same layers share it.
func ChainID(diffIDs []string) string {
	if len(diffIDs) == 0 {
		return ""
	}
	chain := diffIDs[0]
	for _, d := range diffIDs[1:] {
		sum := sha256.Sum256([]byte(chain + " " + d))
		chain = "sha256:" + hex.EncodeToString(sum[:])
	}
	return chain
}

// Of returns the inventory of the image img of the store st: the cached
// one of its layer chain, or one computed now (with the store's lock
// held shared, so that no layer goes while it is read) and cached when
// the cache can be written. cached says which.
func Of(st *rootfs.Store, img *rootfs.Image, opts Options) (inv *Inventory, cached bool, err error) {
	var diffIDs []string
	for _, l := range img.Layers {
		diffIDs = append(diffIDs, l.DiffID)
	}
	chain := ChainID(diffIDs)
	dir := filepath.Join(st.Root(), CacheDir)
	if inv, err := readCache(dir, chain); err == nil {
		return inv, true, nil
	}
	lk, err := st.LockShared()
	if err != nil {
		return nil, false, err
	}
	defer lk.Release()
	// Root's alone, as the rest of the store. Without it (a user reading
	// root's store) the inventory is computed and not kept.
	writable := os.MkdirAll(dir, 0o700) == nil && unix.Access(dir, unix.W_OK) == nil
	if writable && opts.TempDir == "" {
		opts.TempDir = dir
	}
	inv, err = scanImage(img, opts)
	if err != nil {
		return nil, false, fmt.Errorf("inventory of image %s: %w", img.ID, err)
	}
	inv.ChainID = chain
	if writable {
		if err := writeCache(dir, inv); err != nil {
			inv.Notes = append(inv.Notes, "not cached: "+err.Error())
		}
	}
	return inv, false, nil
}

// scanImage opens img's layers, topmost first, and scans them.
func scanImage(img *rootfs.Image, opts Options) (*Inventory, error) {
	var dirs, ids []string
	for i := len(img.Layers) - 1; i >= 0; i-- {
		dirs = append(dirs, img.Layers[i].Dir)
		ids = append(ids, img.Layers[i].DiffID)
	}
	v, err := merged.Open(dirs)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	return Scan(v, ids, opts)
}

func cacheName(chain string) (string, error) {
	hexID, ok := strings.CutPrefix(chain, "sha256:")
	if !ok || len(hexID) != 64 || strings.Trim(hexID, "0123456789abcdef") != "" {
		return "", fmt.Errorf("chain ID %q: want sha256: and 64 hex digits", chain)
	}
	return hexID + ".json", nil
}

// readCache reads the cached inventory of chain, defensively: a regular
// file of ours, not too large, of this schema and chain, whole. Any
// error means: compute it again.
func readCache(dir, chain string) (*Inventory, error) {
	name, err := cacheName(chain)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(filepath.Join(dir, name), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() || st.Size > maxCacheEntry {
		return nil, errors.New("not a cache entry of ours")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCacheEntry))
	if err != nil {
		return nil, err
	}
	var inv Inventory
	if err := json.Unmarshal(data, &inv); err != nil {
		return nil, err
	}
	if inv.Schema != Schema || inv.ChainID != chain || inv.Packages == nil || inv.Databases == nil {
		return nil, errors.New("another schema or chain")
	}
	return &inv, nil
}

// writeCache writes inv as its chain's entry: a temp file, fsync,
// rename, fsync of the directory. Temp files of writers that died an
// hour ago go.
func writeCache(dir string, inv *Inventory) error {
	name, err := cacheName(inv.ChainID)
	if err != nil {
		return err
	}
	removeStale(dir)
	data, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// staleAfter is when a temp file of the cache is a dead writer's.
const staleAfter = time.Hour

func removeStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".tmp-") && !strings.HasPrefix(e.Name(), "rpmdb-") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleAfter {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// PruneCache removes the cached inventories of the chains not in keep
// (the chains of the images still stored).
func PruneCache(st *rootfs.Store, keep map[string]bool) error {
	dir := filepath.Join(st.Root(), CacheDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		hexID, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(e.Name(), ".") || keep["sha256:"+hexID] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
