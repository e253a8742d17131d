package unitgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/dockah/dockah/internal/tomldiag"
)

// searchPath are the definition directories, highest priority first, as
// paths of the fs.FS the loaders read (the root of the host in production).
var searchPath = []string{"etc/dockah/containers", "run/dockah/containers", "usr/lib/dockah/containers"}

// SearchPath returns the definition directories, highest priority first,
// relative to the root of the file system the loaders read.
func SearchPath() []string { return slices.Clone(searchPath) }

const (
	fileSuffix   = ".toml"
	dropInSuffix = ".toml.d"
)

// LoadUnit loads the definition of one unit, "web" or "web@blue", reading
// only its own files: NAME.toml (for an instance, NAME@INST.toml, or else
// the template NAME@.toml) from the first directory of the search path that
// has it, and the drop-ins of NAME.toml.d (for an instance, NAME@.toml.d
// and NAME@INST.toml.d) from all of them. It returns ErrNotFound or
// ErrMasked (use errors.Is), or the Diagnostics of a bad definition.
func LoadUnit(fsys fs.FS, unit string) (*Definition, error) {
	if msg := checkName(unit); msg != "" || strings.HasSuffix(unit, "@") {
		return nil, fmt.Errorf("load %s: %s is not a container or instance name (accepted: %s)", quote(unit), quote(unit), acceptName)
	}
	l := &loader{fsys: fsys}
	main, ok := l.findMain(unit)
	if !ok {
		if prefix, _, isInstance := strings.Cut(unit, "@"); isInstance {
			main, ok = l.findMain(prefix + "@")
		}
	}
	if !ok {
		return nil, fmt.Errorf("load %s: %w", unit, ErrNotFound)
	}
	return l.load(unit, main)
}

// LoadAll loads every definition of the search path, including the
// templates (Name "web@") and the instances that have drop-ins or a file of
// their own (web@blue.toml.d, web@blue.toml). Masked definitions are left
// out. It returns the good definitions sorted by name, and the problems of
// the bad ones joined into one error (see Diagnostics).
func LoadAll(fsys fs.FS) ([]*Definition, error) {
	r := loadAll(fsys)
	return r.defs, errors.Join(r.errs...)
}

// loader reads the files of definitions. listing, when set, holds the
// names in each directory of the search path, so that LoadAll does not
// look for drop-in directories that do not exist.
type loader struct {
	fsys    fs.FS
	listing []map[string]fs.DirEntry
}

// source is a file found in a directory of the search path.
type source struct {
	path  string // in fsys
	entry fs.DirEntry
}

// findMain finds NAME.toml in the first directory that has it.
func (l *loader) findMain(name string) (source, bool) {
	for i, dir := range searchPath {
		p := dir + "/" + name + fileSuffix
		if l.listing != nil {
			if e, ok := l.listing[i][name+fileSuffix]; ok && !e.IsDir() {
				return source{path: p, entry: e}, true
			}
			continue
		}
		if info, err := fs.Lstat(l.fsys, p); err == nil && !info.IsDir() {
			return source{path: p, entry: fs.FileInfoToDirEntry(info)}, true
		}
	}
	return source{}, false
}

// load reads the main file and the drop-ins of unit, and parses them.
func (l *loader) load(unit string, main source) (*Definition, error) {
	data, masked, err := l.read(main.path, main.entry)
	if err != nil {
		return nil, readDiagnostic(unit, main.path, err)
	}
	if masked {
		return nil, fmt.Errorf("load %s: %s: %w", unit, "/"+main.path, ErrMasked)
	}
	var dropIns []File
	var errs []error
	for _, src := range l.dropIns(unit) {
		data, masked, err := l.read(src.path, src.entry)
		switch {
		case err != nil:
			errs = append(errs, readDiagnostic(unit, src.path, err))
		case !masked:
			dropIns = append(dropIns, File{Path: "/" + src.path, Data: data})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return Parse(unit, File{Path: "/" + main.path, Data: data}, dropIns...)
}

// dropIns returns the drop-ins of unit in merge order: sorted by file
// name, a name in a higher directory hiding the same name lower down, and
// an instance's own directory before its template's.
func (l *loader) dropIns(unit string) []source {
	dirs := []string{unit + dropInSuffix}
	if prefix, instance, ok := strings.Cut(unit, "@"); ok && instance != "" {
		dirs = append(dirs, prefix+"@"+dropInSuffix)
	}
	byName := map[string]source{}
	for i, search := range searchPath {
		for _, d := range dirs {
			if l.listing != nil {
				if e, ok := l.listing[i][d]; !ok || !(e.IsDir() || e.Type()&fs.ModeSymlink != 0) {
					continue
				}
			}
			entries, err := fs.ReadDir(l.fsys, search+"/"+d)
			if err != nil {
				continue
			}
			for _, e := range entries {
				name := e.Name()
				if _, seen := byName[name]; !seen && strings.HasSuffix(name, fileSuffix) && !strings.HasPrefix(name, ".") && !e.IsDir() {
					byName[name] = source{path: search + "/" + d + "/" + name, entry: e}
				}
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]source, len(names))
	for i, n := range names {
		out[i] = byName[n]
	}
	return out
}

// read reads a definition file; masked is set for a link to /dev/null or a
// file of nothing but blanks.
func (l *loader) read(p string, entry fs.DirEntry) (data []byte, masked bool, err error) {
	if entry == nil || entry.Type()&fs.ModeSymlink != 0 {
		if target, err := fs.ReadLink(l.fsys, p); err == nil && target == "/dev/null" {
			return nil, true, nil
		}
	}
	f, err := l.fsys.Open(p)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if data, err = readLimited(f); err != nil {
		return nil, false, err
	}
	return data, len(bytes.TrimSpace(data)) == 0, nil
}

// readLimited reads a file up to one byte past maxFileSize. It reads into
// a reused buffer and returns an exact copy: the generator reads thousands
// of small files, and fresh memory costs a page fault per page.
func readLimited(r io.Reader) ([]byte, error) {
	bufp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bufp)
	buf := (*bufp)[:0]
	for len(buf) <= maxFileSize {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), maxFileSize+1)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if cap(buf) <= 64<<10 {
		*bufp = buf // keep a grown buffer, unless it grew large
	}
	return bytes.Clone(buf), nil
}

var readBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// readDiagnostic reports a file that could not be read.
func readDiagnostic(unit, p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &Diagnostic{Unit: unit, Diagnostic: tomldiag.Diagnostic{File: "/" + p, Msg: "cannot read the file: " + err.Error()}}
}
