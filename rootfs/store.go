package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
)

// The store's directories, relative to its root. docs/store.md describes
// each one.
const (
	dirImages     = "images"        // images/HEX.json: one record per image
	dirRefs       = "refs"          // refs/NAME:TAG: the image ID a name points at
	dirLayers     = "layers/sha256" // layers/sha256/HEX/{diff,info.json,tar-split.zst}
	dirLinks      = "l"             // l/SHORT -> ../layers/sha256/HEX/diff
	dirLayerLocks = "locks"         // locks/HEX: held while a layer is unpacked
	dirTemp       = "tmp"           // tmp/*: work in progress, each held by a lock
	dirContainers = "containers"    // containers/NAME/{upper,work,image}
	dirPartial    = "partial"       // partial/HEX: blobs of interrupted pulls
	dirPresent    = "present"       // present/*: stamps of dockah-pull@ (unitgen.PresentStamp)
	dirVolumes    = "volumes"       // volumes/NAME/_data: named volumes
	fileLock      = "lock"          // the store lock (shared/exclusive flock)
)

// Store is an image store rooted at a directory. It holds no open file
// between calls, so it needs no Close and is safe for concurrent use by
// goroutines and processes.
type Store struct {
	root string
}

// Open opens the store at root, creating the directory if needed. It is
// cheap: one mkdir, no scan.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &Store{root: abs}, nil
}

// Root returns the absolute path of the store.
func (s *Store) Root() string { return s.root }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

// PartialBlob returns the path where a pull keeps the bytes of blob digest
// received so far, so that an interrupted pull resumes; the directory is
// created. Prune deletes what is left there.
func (s *Store) PartialBlob(digest string) (string, error) {
	hex, err := digestHex(digest)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.path(dirPartial), 0o700); err != nil {
		return "", fmt.Errorf("prepare store: %w", err)
	}
	return s.path(dirPartial, hex), nil
}

// mkdirs creates the directories a writer needs.
func (s *Store) mkdirs() error {
	for _, d := range []string{dirImages, dirRefs, dirLayers, dirLinks, dirLayerLocks, dirTemp, dirContainers} {
		if err := os.MkdirAll(s.path(d), 0o700); err != nil {
			return fmt.Errorf("prepare store: %w", err)
		}
	}
	return nil
}
