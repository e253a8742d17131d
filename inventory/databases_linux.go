package inventory

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/dockah/dockah/rootfs/merged"
)

// Where the package managers keep their databases.
const (
	dpkgStatus   = "/var/lib/dpkg/status"
	dpkgStatusD  = "/var/lib/dpkg/status.d" // distroless: a file per package
	dpkgInfo     = "/var/lib/dpkg/info"     // NAME[:ARCH].list: the files of each package
	apkInstalled = "/lib/apk/db/installed"
)

// rpmDatabases are where rpm keeps its database: SQLite (Fedora 33 and
// later, RHEL 9), NDB (SUSE), Berkeley DB (RHEL 8 and before); in
// /usr/lib/sysimage/rpm since Fedora 36 and openSUSE, which keep
// /var/lib/rpm as a symlink to it.
var rpmDatabases = []string{
	"/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite",
	"/usr/lib/sysimage/rpm/Packages.db", "/var/lib/rpm/Packages.db",
	"/usr/lib/sysimage/rpm/Packages", "/var/lib/rpm/Packages",
}

func (s *scanner) dbError(typ, p string, f merged.File, err error) {
	s.inv.Databases = append(s.inv.Databases, Database{Type: typ, Path: p, Layer: s.layer(f.Layer), Error: err.Error()})
}

func (s *scanner) dpkg() {
	data, f, err := s.readFile(dpkgStatus, s.opts.MaxDatabase)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		s.dbError(TypeDeb, dpkgStatus, f, err)
	default:
		s.addDpkg(data, f)
		s.dpkgLists()
	}
	s.dpkgStatusD()
}

// addDpkg adds the status file f, and its packages.
func (s *scanner) addDpkg(data []byte, f merged.File) {
	pkgs, err := ParseDpkgStatus(data)
	db := Database{Type: TypeDeb, Path: f.Path, Layer: s.layer(f.Layer), Packages: len(pkgs)}
	if err != nil {
		db.Error = err.Error()
	}
	s.inv.Databases = append(s.inv.Databases, db)
	ns := s.inv.Distro.ID
	if ns == "" {
		ns = "debian"
	}
	for _, p := range pkgs {
		s.inv.Packages = append(s.inv.Packages, Package{
			Type: TypeDeb, Name: p.Name, Version: p.Version, Source: p.Source, SourceVersion: p.SourceVersion, Arch: p.Arch,
			PURL:  purl("deb", ns, p.Name, p.Version, map[string]string{"arch": p.Arch, "distro": s.inv.Distro.qualifier()}),
			Found: Found{How: FromDpkg, Path: f.Path, Layer: s.layer(f.Layer)},
		})
	}
}

// sourceOf maps the packages added so far to their source packages.
func (s *scanner) sourceOf(typ string) map[string]string {
	m := map[string]string{}
	for _, p := range s.inv.Packages {
		if p.Type == typ {
			m[p.Name] = p.Source
		}
	}
	return m
}

// dpkgLists reads the file lists of dpkg's info directory: which file
// belongs to which package.
func (s *scanner) dpkgLists() {
	sources := s.sourceOf(TypeDeb)
	budget := s.opts.MaxDatabase
	err := s.walkFiles(dpkgInfo, func(f merged.File) error {
		name, ok := strings.CutSuffix(path.Base(f.Path), ".list")
		if !ok {
			return nil
		}
		if budget -= f.Size; budget < 0 {
			return errTooMany
		}
		data, err := s.readFound(f, s.opts.MaxDatabase)
		if err != nil {
			s.note("dpkg file list: %v", err)
			return nil
		}
		pkg, _, _ := strings.Cut(name, ":") // zlib1g:amd64.list
		for _, p := range parseFileList(data, false) {
			s.addOwned(p, pkg, sources[pkg])
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		s.note("dpkg file lists: more than %d bytes, the rest was not read", s.opts.MaxDatabase)
	} else if err != nil {
		s.note("dpkg file lists: %v", err)
	}
}

// dpkgStatusD reads distroless's status.d: a status stanza per file,
// and NAME.md5sums listing its files.
func (s *scanner) dpkgStatusD() {
	budget := s.opts.MaxDatabase
	found := false
	var lists []merged.File
	err := s.walkFiles(dpkgStatusD, func(f merged.File) error {
		if budget -= f.Size; budget < 0 {
			return errTooMany
		}
		if strings.HasSuffix(f.Path, ".md5sums") {
			lists = append(lists, f)
			return nil
		}
		found = true
		data, err := s.readFound(f, s.opts.MaxDatabase)
		if err != nil {
			s.dbError(TypeDeb, f.Path, f, err)
			return nil
		}
		s.addDpkg(data, f)
		return nil
	})
	if errors.Is(err, errTooMany) {
		s.dbError(TypeDeb, dpkgStatusD, merged.File{Layer: -1}, errors.New("more than the limit of bytes: the rest was not read"))
	} else if err != nil {
		s.dbError(TypeDeb, dpkgStatusD, merged.File{Layer: -1}, err)
	}
	if !found {
		return
	}
	sources := s.sourceOf(TypeDeb)
	for _, f := range lists {
		data, err := s.readFound(f, s.opts.MaxDatabase)
		if err != nil {
			s.note("dpkg file list: %v", err)
			continue
		}
		pkg := strings.TrimSuffix(path.Base(f.Path), ".md5sums")
		pkg, _, _ = strings.Cut(pkg, ":")
		for _, p := range parseFileList(data, true) {
			s.addOwned(p, pkg, sources[pkg])
		}
	}
}

func (s *scanner) apk() {
	data, f, err := s.readFile(apkInstalled, s.opts.MaxDatabase)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		s.dbError(TypeAPK, apkInstalled, f, err)
		return
	}
	pkgs, err := ParseAPKInstalled(data)
	db := Database{Type: TypeAPK, Path: f.Path, Layer: s.layer(f.Layer), Packages: len(pkgs)}
	if err != nil {
		db.Error = err.Error()
	}
	s.inv.Databases = append(s.inv.Databases, db)
	ns := s.inv.Distro.ID
	if ns == "" {
		ns = "alpine"
	}
	for _, p := range pkgs {
		s.inv.Packages = append(s.inv.Packages, Package{
			Type: TypeAPK, Name: p.Name, Version: p.Version, Source: p.Origin, Arch: p.Arch,
			PURL:  purl("apk", ns, p.Name, p.Version, map[string]string{"arch": p.Arch, "distro": s.inv.Distro.qualifier()}),
			Found: Found{How: FromAPK, Path: f.Path, Layer: s.layer(f.Layer)},
		})
		for _, file := range p.Files {
			s.addOwned(file, p.Name, p.Origin)
		}
	}
}

// rpmTimeout bounds the reading of one rpm database.
const rpmTimeout = 60 * time.Second

func (s *scanner) rpm() {
	done := map[string]bool{}
	for _, p := range rpmDatabases {
		f, ok, err := s.v.LookupFile(p)
		if err != nil {
			s.dbError(TypeRPM, p, merged.File{Layer: -1}, err)
			continue
		}
		if !ok || done[f.Path] {
			continue
		}
		done[f.Path] = true
		if !f.IsRegular() {
			s.dbError(TypeRPM, f.Path, f, merged.ErrNotRegular)
			continue
		}
		s.rpmDatabase(f)
	}
}

func (s *scanner) rpmDatabase(f merged.File) {
	if s.opts.RPM == nil {
		s.dbError(TypeRPM, f.Path, f, errors.New("rpm databases are not read by this program"))
		return
	}
	tmp, err := s.copyTemp(f, s.opts.TempDir, s.opts.MaxDatabase)
	if err != nil {
		s.dbError(TypeRPM, f.Path, f, err)
		return
	}
	defer os.Remove(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), rpmTimeout)
	defer cancel()
	pkgs, err := s.opts.RPM(ctx, tmp)
	db := Database{Type: TypeRPM, Path: f.Path, Layer: s.layer(f.Layer), Packages: len(pkgs)}
	if err != nil {
		db.Error = err.Error()
	}
	s.inv.Databases = append(s.inv.Databases, db)
	ns := s.inv.Distro.ID
	for _, p := range pkgs {
		version := p.Version + "-" + p.Release
		q := map[string]string{"arch": p.Arch, "distro": s.inv.Distro.qualifier()}
		if p.Epoch != 0 {
			q["epoch"] = itoa(p.Epoch)
			version = itoa(p.Epoch) + ":" + version
		}
		src := rpmSourceName(p.SourceRPM)
		s.inv.Packages = append(s.inv.Packages, Package{
			Type: TypeRPM, Name: p.Name, Version: version, Source: src, Arch: p.Arch,
			PURL:  purl("rpm", ns, p.Name, p.Version+"-"+p.Release, q),
			Found: Found{How: FromRPM, Path: f.Path, Layer: s.layer(f.Layer)},
		})
		for _, file := range p.Files {
			s.addOwned(file, p.Name, src)
		}
	}
}
