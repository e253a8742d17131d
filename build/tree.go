package build

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"syscall"
	"time"

	"github.com/dockah/dockah/rootfs/merged"
)

// node is one file COPY or ADD copies, as its source has it.
type node struct {
	// rel is its path relative to the source's root, no symlink on the
	// way.
	rel      string
	mode     fs.FileMode
	uid, gid int
	mtime    time.Time
	size     int64
	link     string // a symlink's target
	open     func() (io.ReadCloser, error)
}

// tree is where COPY's sources come from: the context, or an image (a
// stage's or another).
type tree interface {
	// match returns the paths (relative to the root) a source names,
	// resolved inside the root.
	match(src string) ([]string, error)
	// stat looks at rel without following a symlink there.
	stat(rel string) (node, error)
	// list lists the directory rel; skip leaves out what the ignore file
	// excludes.
	list(rel string) ([]node, error)
}

// contextTree is the build context. Files keep their mode and times;
// owners are root unless --chown says otherwise, as in Docker.
type contextTree struct{ c *Context }

func (t contextTree) match(src string) ([]string, error) { return t.c.Match(src) }

func (t contextTree) stat(rel string) (node, error) {
	info, err := t.c.lstat(rel)
	if err != nil {
		return node{}, err
	}
	return t.node(rel, info)
}

func (t contextTree) node(rel string, info fs.FileInfo) (node, error) {
	n := node{rel: rel, mode: info.Mode(), mtime: info.ModTime(), size: info.Size()}
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		link, err := t.c.readLink(rel)
		if err != nil {
			return node{}, err
		}
		n.link = link
	case info.Mode().IsRegular():
		n.open = func() (io.ReadCloser, error) { return t.c.open(rel) }
	}
	return n, nil
}

func (t contextTree) list(rel string) ([]node, error) {
	entries, err := t.c.readDir(rel)
	if err != nil {
		return nil, err
	}
	var out []node
	for _, e := range entries {
		p := path.Join(rel, e.Name())
		ignored, err := t.c.Ignored(p)
		if err != nil {
			return nil, err
		}
		if ignored && !(e.IsDir() && t.c.hasExceptions()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		n, err := t.node(p, info)
		if err != nil {
			return nil, err
		}
		if ignored {
			n.mode |= modeExcluded // walked for what ! patterns keep
		}
		out = append(out, n)
	}
	return out, nil
}

// modeExcluded marks an excluded directory walked only for the files a
// ! pattern brings back: it is not copied itself.
const modeExcluded = fs.ModeTemporary

// imageTree is an image's layers (COPY --from): files keep their owners,
// modes and times.
type imageTree struct{ v *merged.View }

func (t imageTree) match(src string) ([]string, error) {
	p := path.Clean("/" + src)
	if !hasGlob(p) {
		e, ok, err := t.v.Lookup(p, true)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: no such file or directory in the image", src)
		}
		return []string{rel(e.Path)}, nil
	}
	dir, pattern := path.Split(p)
	if hasGlob(dir) {
		return nil, fmt.Errorf("%s: with --from, only the last element of a source may be a pattern", src)
	}
	entries, err := t.v.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if ok, err := path.Match(pattern, e.Name); err != nil {
			return nil, err
		} else if ok {
			out = append(out, rel(e.Path))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no file of the image matches", src)
	}
	return out, nil
}

func rel(p string) string {
	if p == "/" {
		return "."
	}
	return p[1:]
}

func (t imageTree) stat(r string) (node, error) {
	e, ok, err := t.v.Lookup("/"+r, false)
	if err != nil {
		return node{}, err
	}
	if !ok {
		return node{}, &fs.PathError{Op: "lstat", Path: "/" + r, Err: fs.ErrNotExist}
	}
	return t.node(e), nil
}

func (t imageTree) node(e merged.Entry) node {
	n := node{
		rel: rel(e.Path), mode: goMode(e.Stat.Mode), uid: int(e.Stat.Uid), gid: int(e.Stat.Gid),
		mtime: time.Unix(e.Stat.Mtim.Sec, e.Stat.Mtim.Nsec), size: e.Stat.Size, link: e.Link,
	}
	if e.IsRegular() {
		n.open = func() (io.ReadCloser, error) { return t.v.Open(e) }
	}
	return n
}

func (t imageTree) list(r string) ([]node, error) {
	entries, err := t.v.ReadDir("/" + r)
	if err != nil {
		return nil, err
	}
	out := make([]node, len(entries))
	for i, e := range entries {
		out[i] = t.node(e)
	}
	return out, nil
}

// goMode converts a stat mode to Go's.
func goMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		mode |= fs.ModeSocket
	case syscall.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
