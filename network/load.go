package network

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/dockah/dockah/internal/tomldiag"
)

// SearchPath are the directories of network definitions, highest priority
// first, as paths of the fs.FS the loaders read (the host's root in
// production): the same order as containers'.
var SearchPath = []string{"etc/dockah/networks", "run/dockah/networks", "usr/lib/dockah/networks"}

// Errors of Load.
var (
	ErrNotFound = errors.New("no such network")
	ErrMasked   = errors.New("network is masked")
)

const (
	fileSuffix   = ".toml"
	dropInSuffix = ".toml.d"
)

// Load loads the network name: NAME.toml from the first directory of the
// search path that has it, merged with the drop-ins of NAME.toml.d from
// all of them (by file name; a higher directory's file hides the same
// name lower down). The network Default exists without a file. It returns
// ErrNotFound, ErrMasked (an empty file or a link to /dev/null), or the
// diagnostics of a bad definition.
func Load(fsys fs.FS, name string) (*Network, error) {
	if msg := CheckName(name); msg != "" {
		return nil, fmt.Errorf("network %q %s (accepted: %s)", name, msg, acceptName)
	}
	main, found := findMain(fsys, name)
	if !found {
		if name == Default {
			return DefaultNetwork(), nil
		}
		return nil, fmt.Errorf("network %s: %w (looked in /%s)", name, ErrNotFound, strings.Join(SearchPath, ", /"))
	}
	data, masked, err := read(fsys, main)
	if err != nil {
		return nil, &tomldiag.Diagnostic{File: "/" + main, Msg: "cannot read the file: " + err.Error()}
	}
	if masked {
		return nil, fmt.Errorf("network %s: /%s: %w", name, main, ErrMasked)
	}
	var extra []File
	for _, p := range dropIns(fsys, name) {
		d, masked, err := read(fsys, p)
		if err != nil {
			return nil, &tomldiag.Diagnostic{File: "/" + p, Msg: "cannot read the file: " + err.Error()}
		}
		if !masked {
			extra = append(extra, File{Path: "/" + p, Data: d})
		}
	}
	return Parse(name, File{Path: "/" + main, Data: data}, extra...)
}

// LoadAll loads every network of the search path and Default, sorted by
// name, leaving the masked ones out; the problems of bad ones are joined.
func LoadAll(fsys fs.FS) ([]*Network, error) {
	names := map[string]bool{Default: true}
	for _, dir := range SearchPath {
		entries, _ := fs.ReadDir(fsys, dir)
		for _, e := range entries {
			n, ok := strings.CutSuffix(e.Name(), fileSuffix)
			if ok && !e.IsDir() && !strings.HasPrefix(n, ".") && CheckName(n) == "" {
				names[n] = true
			}
		}
	}
	sorted := slices.Sorted(maps.Keys(names))
	var out []*Network
	var errs []error
	for _, n := range sorted {
		net, err := Load(fsys, n)
		switch {
		case errors.Is(err, ErrMasked):
		case err != nil:
			errs = append(errs, err)
		default:
			out = append(out, net)
		}
	}
	return out, errors.Join(errs...)
}

// findMain returns the path of NAME.toml in the first directory that has
// it.
func findMain(fsys fs.FS, name string) (string, bool) {
	for _, dir := range SearchPath {
		p := dir + "/" + name + fileSuffix
		if info, err := fs.Lstat(fsys, p); err == nil && !info.IsDir() {
			return p, true
		}
	}
	return "", false
}

// dropIns returns the drop-ins of name in merge order.
func dropIns(fsys fs.FS, name string) []string {
	byName := map[string]string{}
	for _, dir := range SearchPath {
		entries, err := fs.ReadDir(fsys, dir+"/"+name+dropInSuffix)
		if err != nil {
			continue
		}
		for _, e := range entries {
			n := e.Name()
			if _, seen := byName[n]; !seen && strings.HasSuffix(n, fileSuffix) && !strings.HasPrefix(n, ".") && !e.IsDir() {
				byName[n] = dir + "/" + name + dropInSuffix + "/" + n
			}
		}
	}
	var out []string
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[n])
	}
	return out
}

// read reads a definition file; masked is set for a link to /dev/null or
// a file of blanks only.
func read(fsys fs.FS, p string) (data []byte, masked bool, err error) {
	if target, err := fs.ReadLink(fsys, p); err == nil && target == "/dev/null" {
		return nil, true, nil
	}
	f, err := fsys.Open(p)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, false, err
	}
	return data, len(bytes.TrimSpace(data)) == 0, nil
}
