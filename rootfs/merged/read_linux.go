package merged

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// File is an entry of the view, as Walk and Open find it.
type File struct {
	// Path is its absolute path in the image, free of symlinks: the path
	// the entry has in its layer.
	Path string
	// Layer is the index, in the order Open was given the layers
	// (topmost first), of the layer that shows the entry.
	Layer int
	// Mode is the entry's type and permission bits (S_IFMT | 07777).
	Mode uint32
	// Size is the length of a regular file.
	Size int64
	// Dev and Ino name its inode in the layers: hard links share them.
	Dev, Ino uint64
	// Link is a symlink's target.
	Link string
}

// IsRegular reports whether f is a regular file.
func (f File) IsRegular() bool { return f.Mode&unix.S_IFMT == unix.S_IFREG }

// IsDir reports whether f is a directory.
func (f File) IsDir() bool { return f.Mode&unix.S_IFMT == unix.S_IFDIR }

// ErrNotRegular is returned by Open for an entry that is not a regular
// file (after the symlinks of the image are followed).
var ErrNotRegular = errors.New("not a regular file")

// SkipDir, returned by Walk's function for a directory, skips it.
var SkipDir = fs.SkipDir

func fileOf(d dir, e *entry) File {
	return File{
		Path: "/" + path.Join(d.path, e.name), Layer: e.layer, Mode: e.st.Mode,
		Size: e.st.Size, Dev: e.st.Dev, Ino: e.st.Ino, Link: e.link,
	}
}

// Walk calls fn for every entry below the directory p of the image (p
// resolved inside the image; Walk of a missing p calls nothing): the
// entries of a directory in name order, then the contents of each of its
// subdirectories in turn. Symlinks
// are reported, never followed. fn returning SkipDir for a directory
// skips its contents; any other error stops the walk and is returned.
// The walk keeps a stack of names, not of fds, so deep trees cost memory
// only.
func (v *View) Walk(p string, fn func(File) error) error {
	d, ok, err := v.resolve(p)
	if err != nil || !ok {
		return err
	}
	stack := []dir{d}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		entries, err := v.list(d, "")
		if err != nil {
			return err
		}
		var sub []dir
		for _, e := range entries {
			err := fn(fileOf(d, e))
			if err == SkipDir {
				continue
			}
			if err != nil {
				return err
			}
			if e.isDir() {
				sub = append(sub, d.child(e))
			}
		}
		// Pushed in reverse so that they come off the stack in name order.
		for i := len(sub) - 1; i >= 0; i-- {
			stack = append(stack, sub[i])
		}
	}
	return nil
}

// LookupFile finds the entry at p, an absolute path in the image, as the
// kernel resolves it under RESOLVE_IN_ROOT: every symlink, the last
// element's too, is followed inside the image. ok is false when nothing
// is there.
func (v *View) LookupFile(p string) (f File, ok bool, err error) {
	links := 0
	for {
		elems := splitPath(p)
		var name string
		if n := len(elems); n > 0 && elems[n-1] != ".." {
			name, elems = elems[n-1], elems[:n-1]
		}
		// The parent keeps its ".." and symlinks: resolve applies them
		// in order, as the kernel does.
		d, found, err := v.resolve(strings.Join(elems, "/"))
		if err != nil || !found {
			return File{}, false, err
		}
		if name == "" {
			return File{Path: "/" + d.path, Layer: layerOf(d), Mode: unix.S_IFDIR}, true, nil
		}
		entries, err := v.list(d, name)
		if err != nil {
			return File{}, false, err
		}
		if len(entries) == 0 {
			return File{}, false, nil
		}
		e := entries[0]
		if e.st.Mode&unix.S_IFMT != unix.S_IFLNK {
			return fileOf(d, e), true, nil
		}
		if links++; links > maxLinks {
			return File{}, false, fmt.Errorf("resolve %s: %w", p, errLoop)
		}
		if path.IsAbs(e.link) {
			p = e.link
		} else {
			// d.path has no symlinks, so ".." in the target applies
			// to it as the kernel would apply it.
			p = "/" + path.Join(d.path, e.link)
		}
	}
}

func layerOf(d dir) int {
	if len(d.stack) == 0 {
		return 0
	}
	return d.stack[0]
}

// OpenPath opens the regular file at p, resolved as LookupFile resolves it, for
// reading. It is opened from its layer's root without following any
// symlink (the image's are followed by Lookup, inside the image) and
// checked to be the file that was looked up. ErrNotRegular when p is
// something else; an error wrapping fs.ErrNotExist when it is missing.
func (v *View) OpenPath(p string) (*os.File, File, error) {
	f, ok, err := v.LookupFile(p)
	if err != nil {
		return nil, File{}, err
	}
	if !ok {
		return nil, File{}, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	file, err := v.OpenFile(f)
	return file, f, err
}

// OpenFile opens the regular file f, as Walk or Lookup found it.
func (v *View) OpenFile(f File) (*os.File, error) {
	if !f.IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: f.Path, Err: ErrNotRegular}
	}
	if f.Layer < 0 || f.Layer >= len(v.layers) {
		return nil, &fs.PathError{Op: "open", Path: f.Path, Err: fs.ErrInvalid}
	}
	// O_NONBLOCK: should it have become a fifo since, the open must
	// not wait for a writer.
	fd, err := openBeneath(v.layers[f.Layer], "."+f.Path, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, v.layerErr(f.Layer, f.Path, "open", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, v.layerErr(f.Layer, f.Path, "stat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != f.Ino || st.Dev != f.Dev {
		unix.Close(fd)
		return nil, v.layerErr(f.Layer, f.Path, "open", errors.New("changed while read"))
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, v.layerErr(f.Layer, f.Path, "open", err)
	}
	return os.NewFile(uintptr(fd), f.Path), nil
}

// Dir returns the path of the directory p of the image with its
// symlinks resolved inside the image (the path it has in the layers),
// and false when p is not a directory of the image.
func (v *View) Dir(p string) (string, bool, error) {
	d, ok, err := v.resolve(p)
	if err != nil || !ok {
		return "", false, err
	}
	return "/" + d.path, true, nil
}
