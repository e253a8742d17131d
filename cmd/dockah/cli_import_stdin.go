//go:build !lean

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
)

// stdinSource is the SOURCE of `image import` that means standard input.
const stdinSource = "-"

// importArchive imports the archive at source, or on stdin when source
// is "-".
func importArchive(st *rootfs.Store, source string, stdin io.Reader, opts archive.ImportOptions) ([]*rootfs.Image, error) {
	if source != stdinSource {
		return archive.Import(st, source, opts)
	}
	return importStdin(st, stdin, opts)
}

// importStdin imports the archive read from r. The importer reads an
// archive's members out of order, so r is first copied into a locked work
// directory of the store: a killed import leaves it for the next command
// to remove, and it is on the file system the layers go to.
func importStdin(st *rootfs.Store, r io.Reader, opts archive.ImportOptions) ([]*rootfs.Image, error) {
	if isTerminal(r) {
		return nil, errors.New("refusing to read an archive from a terminal; pipe one in or name a FILE")
	}
	work, err := st.TempDir()
	if err != nil {
		return nil, err
	}
	defer work.Remove()
	spool := filepath.Join(work.Path, "stdin.tar")
	if err := copyToFile(spool, r); err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	imgs, err := archive.Import(st, spool, opts)
	if err != nil {
		err = stdinError{err: err, spool: spool}
	}
	return imgs, err
}

// copyToFile writes all of r into a new file at path.
func copyToFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	return f.Close()
}

// stdinError says "stdin" where the importer's message names the spool
// file, which the user never saw and which is gone by the time they read
// the message.
type stdinError struct {
	err   error
	spool string
}

func (e stdinError) Error() string { return strings.ReplaceAll(e.err.Error(), e.spool, "stdin") }

func (e stdinError) Unwrap() error { return e.err }
