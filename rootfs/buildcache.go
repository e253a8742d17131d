package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// dirBuildCache holds build-cache/KEY: the image ID a build step with
// that cache key made (see package build).
const dirBuildCache = "build-cache"

// CachedImage returns the image a build step of cache key (64 hex
// digits) made earlier, if that image is still stored; ErrNotFound
// otherwise.
func (s *Store) CachedImage(key string) (*Image, error) {
	if len(key) != 64 || !isHex(key) {
		return nil, fmt.Errorf("build cache key %q: want 64 hex digits", key)
	}
	data, err := readRecord(s.path(dirBuildCache, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("build cache %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read build cache: %w", err)
	}
	return s.image(strings.TrimSpace(string(data)))
}

// SetCachedImage records that the build step of cache key made image id.
// Written atomically; a later step of the same key replaces it.
func (s *Store) SetCachedImage(key, id string) error {
	if len(key) != 64 || !isHex(key) {
		return fmt.Errorf("build cache key %q: want 64 hex digits", key)
	}
	if _, err := digestHex(id); err != nil {
		return err
	}
	if err := os.MkdirAll(s.path(dirBuildCache), 0o700); err != nil {
		return fmt.Errorf("prepare store: %w", err)
	}
	if err := writeFileAtomic(s.path(dirBuildCache, key), []byte(id+"\n"), 0o600); err != nil {
		return fmt.Errorf("write build cache: %w", err)
	}
	return nil
}

// CachedImageIDs returns the IDs of the images the build cache names: a
// build's intermediate images, which image ls leaves out unless asked.
func (s *Store) CachedImageIDs() (map[string]bool, error) {
	entries, err := os.ReadDir(s.path(dirBuildCache))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list build cache: %w", err)
	}
	ids := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := readRecord(s.path(dirBuildCache, e.Name()))
		if err == nil {
			ids[strings.TrimSpace(string(data))] = true
		}
	}
	return ids, nil
}
