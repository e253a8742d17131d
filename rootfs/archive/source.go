package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/layer"
)

// source is an image archive whose members can be opened by name: a
// directory or an indexed tar file.
type source interface {
	// open returns a member's content; ErrNotFound wrapped when missing.
	open(name string) (io.ReadCloser, error)
	has(name string) bool
	close() error
}

// dirSource reads members through os.Root: a symlink in the directory
// cannot lead outside it.
type dirSource struct{ root *os.Root }

func (d dirSource) open(name string) (io.ReadCloser, error) {
	f, err := d.root.Open(cleanMember(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("member %q: %w", name, rootfs.ErrNotFound)
	}
	return f, err
}

func (d dirSource) has(name string) bool {
	_, err := d.root.Stat(cleanMember(name))
	return err == nil
}

func (d dirSource) close() error { return d.root.Close() }

// tarSource is an uncompressed tar file with an index of its members, read
// with ReadAt so that layers can be read concurrently.
type tarSource struct {
	f       *os.File
	members map[string]member
}

type member struct {
	offset, size int64
	link         string // hard or symbolic link target, archive-relative
}

// maxLinkHops bounds link chains between members.
const maxLinkHops = 8

func cleanMember(name string) string {
	c := path.Clean("/" + name)
	return strings.TrimPrefix(c, "/")
}

func indexTar(f *os.File) (*tarSource, error) {
	src := &tarSource{f: f, members: map[string]member{}}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return src, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		if len(src.members) >= 1<<20 {
			return nil, fmt.Errorf("read archive: more than %d members: %w", 1<<20, rootfs.ErrUnsafePath)
		}
		name := cleanMember(hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, fmt.Errorf("read archive: %w", err)
			}
			src.members[name] = member{offset: off, size: hdr.Size}
		case tar.TypeSymlink:
			src.members[name] = member{link: cleanMember(path.Join(path.Dir(name), hdr.Linkname))}
		case tar.TypeLink:
			src.members[name] = member{link: cleanMember(hdr.Linkname)}
		}
	}
}

func (t *tarSource) lookup(name string) (member, bool) {
	m, ok := t.members[cleanMember(name)]
	for hops := 0; ok && m.link != ""; hops++ {
		if hops == maxLinkHops {
			return member{}, false
		}
		m, ok = t.members[m.link]
	}
	return m, ok
}

func (t *tarSource) open(name string) (io.ReadCloser, error) {
	m, ok := t.lookup(name)
	if !ok {
		return nil, fmt.Errorf("member %q: %w", name, rootfs.ErrNotFound)
	}
	return io.NopCloser(io.NewSectionReader(t.f, m.offset, m.size)), nil
}

func (t *tarSource) has(name string) bool {
	_, ok := t.lookup(name)
	return ok
}

func (t *tarSource) close() error { return t.f.Close() }

// openSource opens a directory or a tar file. A compressed tar is first
// decompressed into spool, a file in the store's temp area, since its
// members must be read out of order.
func openSource(p string, spool *os.File) (source, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	if info.IsDir() {
		root, err := os.OpenRoot(p)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", p, err)
		}
		return dirSource{root: root}, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	zr, kind, err := layer.Decompress(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	if kind != layer.Uncompressed {
		_, err := io.Copy(spool, zr)
		zr.Close()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("decompress %s: %w", p, err)
		}
		f, err = os.Open(spool.Name())
		if err != nil {
			return nil, fmt.Errorf("decompress %s: %w", p, err)
		}
	} else {
		zr.Close()
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("open %s: %w", p, err)
		}
	}
	src, err := indexTar(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	return src, nil
}

// maxDocument bounds the JSON documents read from an archive.
const maxDocument = 16 << 20

// readDocument reads a small member whole, refusing an absurd size.
func readDocument(src source, name string) ([]byte, error) {
	rc, err := src.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxDocument {
		return nil, fmt.Errorf("read %s: larger than %d bytes: %w", name, maxDocument, rootfs.ErrUnsafePath)
	}
	return data, nil
}
