package merged

import (
	"fmt"
	"io/fs"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// Entry is a name of the view, as the topmost layer that shows it has it.
type Entry struct {
	// Name is the entry's name in its directory.
	Name string
	// Path is where it is in the image: absolute, with no symlink on the
	// way.
	Path string
	// Stat is its lstat in its layer (owner, mode, times, size).
	Stat unix.Stat_t
	// Link is a symlink's target, as stored.
	Link  string
	layer int
}

// IsDir reports whether the entry is a directory.
func (e Entry) IsDir() bool { return e.Stat.Mode&unix.S_IFMT == unix.S_IFDIR }

// IsSymlink reports whether the entry is a symlink.
func (e Entry) IsSymlink() bool { return e.Stat.Mode&unix.S_IFMT == unix.S_IFLNK }

// IsRegular reports whether the entry is a regular file.
func (e Entry) IsRegular() bool { return e.Stat.Mode&unix.S_IFMT == unix.S_IFREG }

func (v *View) exported(d dir, e *entry) Entry {
	return Entry{Name: e.name, Path: "/" + path.Join(d.path, e.name), Stat: e.st, Link: e.link, layer: e.layer}
}

// Walk is the result of WalkParents: the directories of the image on the
// way to a path, and what is left of the path below the last of them.
type Walk struct {
	// Dirs are the existing directories from the root's children down,
	// each resolved inside the image (symlinks followed).
	Dirs []Entry
	// Rest are the names below the last of Dirs that the image does not
	// have; empty when the whole path is a directory of the image.
	Rest []string
	// Last is what the image has at the first name of Rest when that is
	// not a directory (a file, a symlink to one); nil when it is missing.
	Last *Entry
}

// WalkParents resolves p, an absolute path of the image, inside it as
// far as it leads to directories: where a COPY into the image puts its
// files. Symlinks on the way are followed inside the image.
func (v *View) WalkParents(p string) (Walk, error) {
	var w Walk
	if len(v.layers) == 0 {
		w.Rest = splitPath(p)
		return w, nil
	}
	d := v.root()
	var parents []dir
	var chain []Entry
	todo := splitPath(p)
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		if name == ".." {
			todo = todo[1:]
			if len(parents) > 0 {
				d, parents, chain = parents[len(parents)-1], parents[:len(parents)-1], chain[:len(chain)-1]
			}
			continue
		}
		found, err := v.list(d, name)
		if err != nil {
			return w, err
		}
		if len(found) == 0 {
			break
		}
		e := found[0]
		switch {
		case e.isDir():
			todo = todo[1:]
			chain = append(chain, v.exported(d, e))
			parents = append(parents, d)
			d = d.child(e)
			continue
		case e.st.Mode&unix.S_IFMT == unix.S_IFLNK:
			if links++; links > maxLinks {
				return w, fmt.Errorf("resolve %s: %w", p, errLoop)
			}
			todo = append(splitPath(e.link), todo[1:]...)
			if path.IsAbs(e.link) {
				d, parents, chain = v.root(), nil, nil
			}
			continue
		}
		last := v.exported(d, e)
		w.Last = &last
		break
	}
	w.Dirs, w.Rest = chain, todo
	return w, nil
}

// Lookup returns the entry at p, an absolute path of the image, resolved
// inside the image; with follow, a symlink at the end is followed too.
// ok is false when the image has nothing there.
func (v *View) Lookup(p string, follow bool) (Entry, bool, error) {
	for links := 0; links <= maxLinks; links++ {
		elems := splitPath(p)
		if len(elems) == 0 {
			if len(v.layers) == 0 {
				return Entry{}, false, nil
			}
			return v.rootEntry()
		}
		w, err := v.WalkParents("/" + path.Join(elems[:len(elems)-1]...))
		if err != nil || len(w.Rest) > 0 {
			return Entry{}, false, err
		}
		d := v.root()
		if len(w.Dirs) > 0 {
			parent, _, err := v.resolve(w.Dirs[len(w.Dirs)-1].Path)
			if err != nil {
				return Entry{}, false, err
			}
			d = parent
		}
		name := elems[len(elems)-1]
		if name == ".." {
			w, err := v.WalkParents(p)
			switch {
			case err != nil || len(w.Rest) > 0:
				return Entry{}, false, err
			case len(w.Dirs) == 0:
				return v.rootEntry()
			}
			return w.Dirs[len(w.Dirs)-1], len(w.Rest) == 0, nil
		}
		found, err := v.list(d, name)
		if err != nil || len(found) == 0 {
			return Entry{}, false, err
		}
		e := v.exported(d, found[0])
		if !follow || !e.IsSymlink() {
			return e, true, nil
		}
		if path.IsAbs(e.Link) {
			p = e.Link
		} else {
			p = path.Join(path.Dir(e.Path), e.Link)
		}
	}
	return Entry{}, false, fmt.Errorf("resolve %s: %w", p, errLoop)
}

// rootEntry is the image's root directory, as its topmost layer has it.
func (v *View) rootEntry() (Entry, bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(v.layers[0], &st); err != nil {
		return Entry{}, false, v.layerErr(0, "", "stat", err)
	}
	return Entry{Name: "/", Path: "/", Stat: st}, true, nil
}

// ReadDir lists the directory the image has at p (resolved inside it),
// sorted by name.
func (v *View) ReadDir(p string) ([]Entry, error) {
	d, ok, err := v.resolve(p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &fs.PathError{Op: "read directory", Path: p, Err: fs.ErrNotExist}
	}
	found, err := v.list(d, "")
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(found))
	for i, e := range found {
		out[i] = v.exported(d, e)
	}
	return out, nil
}

// Open opens a regular file that Lookup or ReadDir returned, from the
// layer that has it, following no symlink.
func (v *View) Open(e Entry) (*os.File, error) {
	if !e.IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: e.Path, Err: fs.ErrInvalid}
	}
	fd, err := openBeneath(v.layers[e.layer], e.Path[1:], unix.O_RDONLY)
	if err != nil {
		return nil, v.layerErr(e.layer, e.Path, "open", err)
	}
	return os.NewFile(uintptr(fd), e.Path), nil
}
