package inventory

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	rpmdb "github.com/anchore/go-rpmdb/pkg"
	// The pure-Go SQLite driver go-rpmdb opens rpmdb.sqlite with
	// (database/sql's "sqlite"): no cgo, so the static build stays one.
	_ "github.com/glebarez/go-sqlite"
)

// RPMPackage is a package of an rpm database.
type RPMPackage struct {
	Name      string   `json:"name"`
	Epoch     int      `json:"epoch,omitempty"`
	Version   string   `json:"version"`
	Release   string   `json:"release"`
	Arch      string   `json:"arch,omitempty"`
	SourceRPM string   `json:"sourceRPM,omitempty"`
	Files     []string `json:"files,omitempty"`
}

// RPMReader reads the rpm database at path (a copy outside the image).
type RPMReader func(ctx context.Context, path string) ([]RPMPackage, error)

// maxRPMFiles bounds the file names kept of one rpm database.
const maxRPMFiles = 4 << 20

// ReadRPMDatabase reads an rpm database (SQLite, NDB or Berkeley DB) in
// this process, with github.com/anchore/go-rpmdb. Its readers trust the
// file: a corrupt one can make them panic on another goroutine or loop,
// so a program reading an image's database calls it in a child process
// (IsolatedRPM), never on its own. ctx is not watched: the child's
// limits stop it.
func ReadRPMDatabase(_ context.Context, p string) (out []RPMPackage, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("read rpm database: %v", r)
		}
	}()
	db, err := rpmdb.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open rpm database: %w", err)
	}
	defer db.Close()
	pkgs, err := db.ListPackages()
	if err != nil {
		return nil, fmt.Errorf("read rpm database: %w", err)
	}
	files := 0
	for _, p := range pkgs {
		rp := RPMPackage{Name: p.Name, Version: p.Version, Release: p.Release, Arch: p.Arch, SourceRPM: p.SourceRpm}
		if p.Epoch != nil {
			rp.Epoch = *p.Epoch
		}
		for i, base := range p.BaseNames {
			if i >= len(p.DirIndexes) || int(p.DirIndexes[i]) >= len(p.DirNames) || p.DirIndexes[i] < 0 {
				break
			}
			if files++; files > maxRPMFiles {
				break
			}
			rp.Files = append(rp.Files, path.Join(p.DirNames[p.DirIndexes[i]], base))
		}
		out = append(out, rp)
	}
	return out, nil
}

// rpmSourceName is the name of the source package of a source rpm's
// file name: zlib-1.2.11-40.el9.src.rpm is zlib.
func rpmSourceName(srpm string) string {
	s := strings.TrimSuffix(strings.TrimSuffix(srpm, ".rpm"), ".src")
	s = strings.TrimSuffix(s, ".nosrc")
	for range 2 { // release, then version
		i := strings.LastIndexByte(s, '-')
		if i <= 0 {
			return ""
		}
		s = s[:i]
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
