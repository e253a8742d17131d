package deftest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing/fstest"
)

// Directories of the generator's search path, below /.
const (
	etc = "etc/dockah/containers"
	lib = "usr/lib/dockah/containers"
)

// Masked returns a file that masks a definition: a link to /dev/null.
func Masked() *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("/dev/null"), Mode: fs.ModeSymlink}
}

// Write writes the files of fsys below root, with their parent
// directories: a file whose mode is a link becomes a symbolic link to its
// data, every other file a regular file.
func Write(root string, fsys fstest.MapFS) error {
	for name, f := range fsys {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		var err error
		if f.Mode&fs.ModeSymlink != 0 {
			err = os.Symlink(string(f.Data), p)
		} else {
			err = os.WriteFile(p, f.Data, 0o644)
		}
		if err != nil {
			return fmt.Errorf("write fixture %s: %w", name, err)
		}
	}
	return nil
}
