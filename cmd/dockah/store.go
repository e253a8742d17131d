package main

import (
	"os"
	"path/filepath"

	"github.com/dockah/dockah/rootfs"
)

// openStore opens the store the global options name.
func openStore(opts *globalOptions) (*rootfs.Store, error) {
	return rootfs.Open(opts.storeRoot)
}

// writeFileAtomic writes what fill produces to path through a temp file
// in the same directory, renamed into place only when complete.
func writeFileAtomic(path string, fill func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dockah-save-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
