package merged

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// View is the merged view of a stack of layer directories. It holds an
// fd of each layer's root until Close.
type View struct {
	layers []int // root fds, topmost first
	names  []string
}

// Open opens the layer directories lower, topmost first (the order of
// overlayfs's lowerdir=). The directories themselves are the store's and
// trusted, so a symlink to one (ROOT/l/SHORT) is followed; nothing inside
// them is.
func Open(lower []string) (*View, error) {
	v := &View{}
	for _, dir := range lower {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			v.Close()
			return nil, &fs.PathError{Op: "open layer", Path: dir, Err: err}
		}
		v.layers = append(v.layers, fd)
		v.names = append(v.names, dir)
	}
	return v, nil
}

// Close closes the layers' fds.
func (v *View) Close() error {
	for _, fd := range v.layers {
		unix.Close(fd)
	}
	v.layers, v.names = nil, nil
	return nil
}

// layerResolve keeps every lookup inside a layer and off its symlinks.
const layerResolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// openBeneath opens the relative path p below the directory fd root
// without following any symlink, its last element included.
func openBeneath(root int, p string, flags int) (int, error) {
	if p == "" {
		p = "."
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC), Resolve: layerResolve}
	for {
		fd, err := unix.Openat2(root, p, &how)
		// openat2 asks for a retry when a rename raced the lookup.
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

// dir is a directory of the view: its path relative to the layers' roots
// and the layers that merge into it, topmost first.
type dir struct {
	path  string
	stack []int
	st    *unix.Stat_t // as listed in its parent; nil for the root
}

// root is the view's root, which every layer's root merges into (as in
// overlayfs, an opaque marker on a layer's root hides nothing).
func (v *View) root() dir {
	d := dir{stack: make([]int, len(v.layers))}
	for i := range v.layers {
		d.stack[i] = i
	}
	return d
}

// entry is a name of a directory of the view.
type entry struct {
	name  string
	layer int         // the layer that shows it
	st    unix.Stat_t // as lstat there
	link  string      // the target of a symlink
	stack []int       // for a directory: the layers that merge into it
	gone  bool        // whited out
	shut  bool        // a directory no lower layer adds to
}

func (e *entry) isDir() bool { return e.st.Mode&unix.S_IFMT == unix.S_IFDIR }

// child is the directory of the view that a directory entry of d is.
func (d dir) child(e *entry) dir {
	return dir{path: path.Join(d.path, e.name), stack: e.stack, st: &e.st}
}

// list returns the visible entries of d, sorted by name; with only set,
// just that name, if visible.
func (v *View) list(d dir, only string) ([]*entry, error) {
	found := map[string]*entry{}
	for _, l := range d.stack {
		if err := v.mergeLayer(d, l, only, found); err != nil {
			return nil, err
		}
	}
	out := make([]*entry, 0, len(found))
	for _, e := range found {
		if !e.gone {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// mergeLayer adds what layer l has in d to found, under what the layers
// above have put there.
func (v *View) mergeLayer(d dir, l int, only string, found map[string]*entry) error {
	fd, err := openBeneath(v.layers[l], d.path, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return v.layerErr(l, d.path, "open", err)
	}
	defer unix.Close(fd)
	// Whether a directory of the last layer is opaque changes nothing.
	last := l == d.stack[len(d.stack)-1]
	names := []string{only}
	if only == "" {
		if names, err = readNames(fd); err != nil {
			return v.layerErr(l, d.path, "read directory", err)
		}
	}
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			// A name too long to exist comes from a symlink's target.
			if err == unix.ENOENT || err == unix.ENAMETOOLONG {
				continue
			}
			return v.layerErr(l, path.Join(d.path, name), "lstat", err)
		}
		if err := v.mergeName(fd, l, last, name, &st, found); err != nil {
			return v.layerErr(l, path.Join(d.path, name), "read", err)
		}
	}
	return nil
}

// mergeName adds name, as layer l has it in the directory fd, to found.
func (v *View) mergeName(fd, l int, last bool, name string, st *unix.Stat_t, found map[string]*entry) error {
	e := found[name]
	if e == nil {
		e = &entry{name: name, layer: l, st: *st}
		found[name] = e
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			e.gone = st.Rdev == 0 // an overlayfs whiteout
		case unix.S_IFLNK:
			link, err := readlinkat(fd, name)
			if err != nil {
				return err
			}
			e.link = link
		case unix.S_IFDIR:
			e.stack = []int{l}
			return e.checkOpaque(fd, last)
		}
		return nil
	}
	if e.gone || !e.isDir() || e.shut {
		return nil
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		// A file or whiteout below a directory ends the merge: overlayfs
		// shows the directories above it only.
		e.shut = true
		return nil
	}
	e.stack = append(e.stack, l)
	return e.checkOpaque(fd, last)
}

// checkOpaque ends the merge of directory e at an opaque layer.
func (e *entry) checkOpaque(fd int, last bool) error {
	if last {
		return nil
	}
	opaque, err := isOpaque(fd, e.name)
	e.shut = opaque
	return err
}

func (v *View) layerErr(l int, p, op string, err error) error {
	return &fs.PathError{Op: op, Path: path.Join(v.names[l], p), Err: err}
}

func readlinkat(fd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// opaqueXattrs mark an opaque directory: trusted.* in a store written by
// root, user.* in one written without (mounted with userxattr).
var opaqueXattrs = []string{"trusted.overlay.opaque", "user.overlay.opaque"}

// isOpaque reports whether the directory name in fd hides the layers
// below it.
func isOpaque(fd int, name string) (bool, error) {
	dfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(dfd)
	buf := make([]byte, 8)
	for _, x := range opaqueXattrs {
		n, err := unix.Fgetxattr(dfd, x, buf)
		if err == nil && string(buf[:n]) == "y" {
			return true, nil
		}
		// ENODATA: not set; ERANGE: not "y"; trusted.* is invisible
		// without CAP_SYS_ADMIN, which is also how overlayfs then reads it.
		if err != nil && err != unix.ENODATA && err != unix.ERANGE && err != unix.ENOTSUP && err != unix.EPERM {
			return false, fmt.Errorf("read %s: %w", x, err)
		}
	}
	return false, nil
}

// maxLinks is the kernel's limit on the symlinks one lookup follows.
const maxLinks = 40

// errLoop reports a path of the image that follows more than maxLinks
// symlinks, which the kernel would refuse as well.
var errLoop = errors.New("too many levels of symbolic links in the image")

// resolve finds the directory of the view at p, an absolute path in the
// image, as the kernel does under RESOLVE_IN_ROOT: every symlink on the
// way and at the end is followed inside the image (an absolute target
// starts again from the image's root, ".." never goes above it). ok is
// false when p is missing or not a directory.
func (v *View) resolve(p string) (d dir, ok bool, err error) {
	if len(v.layers) == 0 {
		return dir{}, false, nil // an image of no layers has nothing, not even "/"
	}
	d = v.root()
	var parents []dir
	todo := splitPath(p)
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if name == ".." {
			if len(parents) > 0 {
				d, parents = parents[len(parents)-1], parents[:len(parents)-1]
			}
			continue
		}
		found, err := v.list(d, name)
		if err != nil {
			return dir{}, false, err
		}
		if len(found) == 0 {
			return dir{}, false, nil
		}
		e := found[0]
		switch {
		case e.isDir():
			parents = append(parents, d)
			d = d.child(e)
		case e.st.Mode&unix.S_IFMT == unix.S_IFLNK:
			if links++; links > maxLinks {
				return dir{}, false, fmt.Errorf("resolve %s: %w", p, errLoop)
			}
			if path.IsAbs(e.link) {
				d, parents = v.root(), nil
			}
			todo = append(splitPath(e.link), todo...)
		default:
			return dir{}, false, nil
		}
	}
	return d, true, nil
}

// splitPath returns the elements of p, without empty ones and ".".
func splitPath(p string) []string {
	var out []string
	for _, elem := range strings.Split(p, "/") {
		if elem != "" && elem != "." {
			out = append(out, elem)
		}
	}
	return out
}

// readNames lists the directory fd, without "." and "..".
func readNames(fd int) ([]string, error) {
	buf := make([]byte, 32<<10)
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
