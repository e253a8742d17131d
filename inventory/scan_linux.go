package inventory

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dockah/dockah/rootfs/merged"
)

// Options bound what a scan reads. Zero fields take the defaults.
type Options struct {
	// MaxDatabase is the largest package database (or file list) read,
	// in bytes: 256 MiB.
	MaxDatabase int64
	// MaxFile is the largest file read for build info and version
	// strings: 1 GiB. Larger files are named in the notes.
	MaxFile int64
	// MaxScan is the budget of bytes read from all files: 16 GiB. What
	// it leaves unread is named in the notes.
	MaxScan int64
	// MaxEntries is the most entries of the image walked: 4 million.
	MaxEntries int
	// Workers read files at once: one per CPU.
	Workers int
	// RPM reads an rpm database; nil leaves rpm databases unread (their
	// Database says so).
	RPM RPMReader
	// TempDir holds the copy of an rpm database while it is read.
	TempDir string
}

// Defaults of Options.
const (
	DefaultMaxDatabase = 256 << 20
	DefaultMaxFile     = 1 << 30
	DefaultMaxScan     = 16 << 30
	DefaultMaxEntries  = 4 << 20
)

func (o Options) withDefaults() Options {
	if o.MaxDatabase <= 0 {
		o.MaxDatabase = DefaultMaxDatabase
	}
	if o.MaxFile <= 0 {
		o.MaxFile = DefaultMaxFile
	}
	if o.MaxScan <= 0 {
		o.MaxScan = DefaultMaxScan
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Scan computes the inventory of the merged view v of an image's layers.
// layers are the layers' diff IDs in the view's order (topmost first).
// The inventory's ChainID is left for the caller to fill in.
func Scan(v *merged.View, layers []string, opts Options) (*Inventory, error) {
	s := &scanner{
		v: v, layers: layers, opts: opts.withDefaults(),
		inv:   &Inventory{Schema: Schema, Databases: []Database{}, Packages: []Package{}},
		owned: map[string][]owner{}, dirs: map[string]string{},
	}
	s.distro()
	s.dpkg()
	s.apk()
	s.rpm()
	if err := s.files(); err != nil {
		return nil, err
	}
	sortPackages(s.inv.Packages)
	return s.inv, nil
}

type scanner struct {
	v      *merged.View
	layers []string
	opts   Options
	inv    *Inventory
	// owned maps a file's base name to the packages that list a file of
	// that name, by the path they list.
	owned map[string][]owner
	dirs  map[string]string // a listed directory → its path in the layers
}

type owner struct{ path, pkg, source string }

func (s *scanner) layer(i int) string {
	if i >= 0 && i < len(s.layers) {
		return s.layers[i]
	}
	return ""
}

func (s *scanner) note(format string, args ...any) {
	if len(s.inv.Notes) < 100 {
		s.inv.Notes = append(s.inv.Notes, fmt.Sprintf(format, args...))
	}
}

// readFile reads the image's file p, at most max bytes. A missing file
// is an error wrapping fs.ErrNotExist.
func (s *scanner) readFile(p string, max int64) ([]byte, merged.File, error) {
	file, f, err := s.v.OpenPath(p)
	if err != nil {
		return nil, f, err
	}
	defer file.Close()
	return readLimited(file, f, max)
}

func (s *scanner) readFound(f merged.File, max int64) ([]byte, error) {
	file, err := s.v.OpenFile(f)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	data, _, err := readLimited(file, f, max)
	return data, err
}

func readLimited(r io.Reader, f merged.File, max int64) ([]byte, merged.File, error) {
	if f.Size > max {
		return nil, f, fmt.Errorf("%s: %d bytes, more than the limit of %d", f.Path, f.Size, max)
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, f, fmt.Errorf("read %s: %w", f.Path, err)
	}
	if int64(len(data)) > max {
		return nil, f, fmt.Errorf("%s: more than the limit of %d bytes", f.Path, max)
	}
	return data, f, nil
}

func (s *scanner) distro() {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		data, _, err := s.readFile(p, 64<<10)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			s.note("os-release: %v", err)
			return
		}
		s.inv.Distro = ParseOSRelease(data)
		return
	}
}

// addOwned records that package pkg (of source package source) lists
// the file p.
func (s *scanner) addOwned(p, pkg, source string) {
	base := path.Base(p)
	s.owned[base] = append(s.owned[base], owner{path: p, pkg: pkg, source: source})
}

// ownerOf returns the package that lists the file at p, a path without
// symlinks; a package's list may name it through symlinked directories
// (/lib/x86_64-linux-gnu/libz.so.1 of a merged-/usr image).
func (s *scanner) ownerOf(p string) *owner {
	for i, o := range s.owned[path.Base(p)] {
		dir := path.Dir(o.path)
		real, ok := s.dirs[dir]
		if !ok {
			real, _, _ = s.v.Dir(dir)
			s.dirs[dir] = real
		}
		if real != "" && path.Join(real, path.Base(p)) == p {
			return &s.owned[path.Base(p)][i]
		}
	}
	return nil
}

// walkFiles calls fn for the regular files of directory dir of the
// image; a missing directory has none.
func (s *scanner) walkFiles(dir string, fn func(merged.File) error) error {
	return s.v.Walk(dir, func(f merged.File) error {
		if f.IsDir() {
			return merged.SkipDir
		}
		if f.IsRegular() {
			return fn(f)
		}
		return nil
	})
}

// candidate is a file that may be a binary or a library.
type candidate struct {
	f       merged.File
	mods    []goModule
	strs    []versionString
	elf     bool
	skipped string // why it was not read
	err     error
}

// files walks the image and reads the executables and libraries.
func (s *scanner) files() error {
	var cands []*candidate
	seen := map[[2]uint64]bool{}
	entries := 0
	err := s.v.Walk("/", func(f merged.File) error {
		if entries++; entries > s.opts.MaxEntries {
			return errTooMany
		}
		if !f.IsRegular() || f.Size < 64 {
			return nil
		}
		base := path.Base(f.Path)
		if f.Mode&0o111 == 0 && !strings.Contains(base, ".so") {
			return nil
		}
		id := [2]uint64{f.Dev, f.Ino}
		if seen[id] {
			return nil // a hard link of a file already listed
		}
		seen[id] = true
		cands = append(cands, &candidate{f: f})
		return nil
	})
	if errors.Is(err, errTooMany) {
		s.note("more than %d entries in the image: the rest was not looked at", s.opts.MaxEntries)
	} else if err != nil {
		return fmt.Errorf("walk the image: %w", err)
	}
	s.readCandidates(cands)
	for _, c := range cands {
		s.addFile(c)
	}
	return nil
}

var errTooMany = errors.New("too many entries")

// readCandidates reads the candidates on opts.Workers goroutines, within
// the byte budget.
func (s *scanner) readCandidates(cands []*candidate) {
	var next atomic.Int64
	var budget atomic.Int64
	budget.Store(s.opts.MaxScan)
	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(cands) {
					return
				}
				s.readCandidate(cands[i], &budget)
			}
		}()
	}
	wg.Wait()
}

var elfMagic = []byte("\x7fELF")

func (s *scanner) readCandidate(c *candidate, budget *atomic.Int64) {
	if c.f.Size > s.opts.MaxFile {
		c.skipped = fmt.Sprintf("%s: not read, %d bytes is more than the limit of %d", c.f.Path, c.f.Size, s.opts.MaxFile)
		return
	}
	file, err := s.v.OpenFile(c.f)
	if err != nil {
		c.err = err
		return
	}
	defer file.Close()
	var magic [4]byte
	if _, err := io.ReadFull(file, magic[:]); err != nil || string(magic[:]) != string(elfMagic) {
		return
	}
	c.elf = true
	if budget.Add(-c.f.Size) < 0 {
		c.skipped = fmt.Sprintf("%s: not read, the scan budget of %d bytes is spent", c.f.Path, s.opts.MaxScan)
		return
	}
	mods, cgo, err := goModules(file)
	if err != nil {
		c.err = fmt.Errorf("%s: %w", c.f.Path, err)
	}
	c.mods = mods
	if len(mods) > 0 && !cgo {
		// Go code cannot link C libraries without cgo; the strings of
		// a pure Go binary are its own (a scanner's, a test's).
		return
	}
	sr := io.NewSectionReader(file, 0, c.f.Size)
	strs, _, err := scanVersionStrings(sr, c.f.Size)
	if err != nil {
		c.err = fmt.Errorf("read %s: %w", c.f.Path, err)
		return
	}
	c.strs = strs
}

// addFile adds what was found in a candidate to the inventory.
func (s *scanner) addFile(c *candidate) {
	switch {
	case c.skipped != "":
		s.note("%s", c.skipped)
		return
	case c.err != nil:
		s.note("%v", c.err)
	}
	if !c.elf {
		return
	}
	f := c.f
	layer := s.layer(f.Layer)
	for _, m := range c.mods {
		p := Package{Type: TypeGo, Name: m.Path, Version: m.Version, PURL: goPURL(m.Path, m.Version),
			Found: Found{How: FromGoBuildInfo, Path: f.Path, Layer: layer, Detail: m.Detail}}
		if m.Path == "stdlib" {
			p.PURL = purl("golang", "", "stdlib", m.Version, nil)
		}
		s.inv.Packages = append(s.inv.Packages, p)
	}
	own := s.ownerOf(f.Path)
	stem, nameVersion, isLib := libraryName(path.Base(f.Path))
	libProduct := ""
	if isLib && own == nil && len(c.mods) == 0 {
		libProduct = libraryProducts[stem]
		s.addLibrary(c, stem, nameVersion, libProduct)
	}
	products := map[string]bool{}
	for _, str := range c.strs {
		products[str.Product] = true
	}
	for _, product := range []string{ProductOpenSSL, ProductZlib} {
		if !products[product] || product == libProduct {
			continue
		}
		if own != nil && isProductPackage(product, own.pkg, own.source) {
			continue // the product's own package: its entry is the package's
		}
		version, detail, _ := copyVersion(c.strs, product)
		p := Package{Type: TypeEmbedded, Name: product, Version: version, Source: product,
			PURL:  purl("generic", "", product, purlVersion(version), nil),
			Found: Found{How: FromVersionString, Path: f.Path, Layer: layer, Detail: detail}}
		if own != nil {
			p.Found.Package = own.pkg
		}
		s.inv.Packages = append(s.inv.Packages, p)
	}
}

// addLibrary adds a shared library no package owns.
func (s *scanner) addLibrary(c *candidate, stem, nameVersion, product string) {
	p := Package{Type: TypeLibrary, Name: stem, Version: nameVersion, Source: product,
		Found: Found{How: FromFileName, Path: c.f.Path, Layer: s.layer(c.f.Layer)}}
	if product != "" {
		if v, detail, ok := copyVersion(c.strs, product); ok {
			p.Version, p.Found.How, p.Found.Detail = v, FromVersionString, detail
			if nameVersion != "" && nameVersion != v {
				p.Found.Detail += "; the file name says " + nameVersion
			}
		}
	}
	if p.Version == "" {
		p.Version = Unknown
	}
	name := stem
	if product != "" {
		name = product
	}
	p.PURL = purl("generic", "", name, purlVersion(p.Version), nil)
	s.inv.Packages = append(s.inv.Packages, p)
}

func purlVersion(v string) string {
	if v == Unknown {
		return ""
	}
	return v
}

// copyTemp copies the image's file f into a new file in dir and returns
// its path, for a reader that takes a path (the rpm database's).
func (s *scanner) copyTemp(f merged.File, dir string, max int64) (string, error) {
	if f.Size > max {
		return "", fmt.Errorf("%d bytes, more than the limit of %d", f.Size, max)
	}
	in, err := s.v.OpenFile(f)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, "rpmdb-*")
	if err != nil {
		return "", err
	}
	defer out.Close()
	if _, err := io.Copy(out, io.LimitReader(in, max)); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), out.Close()
}
