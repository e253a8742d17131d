package inventory

import (
	"sort"
	"strings"
)

// Schema is the version of the Inventory format. A cached inventory of
// another schema is computed again; raise it whenever what a scan finds
// changes.
const Schema = 1

// Types of packages.
const (
	TypeDeb = "deb"
	TypeRPM = "rpm"
	TypeAPK = "apk"
	// TypeGo is a Go module (or the Go standard library, "stdlib")
	// linked into a Go binary.
	TypeGo = "golang"
	// TypeLibrary is a shared library whose file no package owns.
	TypeLibrary = "library"
	// TypeEmbedded is a library found by its version strings inside a
	// binary or library of another name: a static copy.
	TypeEmbedded = "embedded"
)

// How an entry was found.
const (
	FromDpkg          = "dpkg database"
	FromRPM           = "rpm database"
	FromAPK           = "apk database"
	FromGoBuildInfo   = "go build info"
	FromFileName      = "file name"
	FromVersionString = "version string"
)

// Inventory is what an image carries.
type Inventory struct {
	// Schema is the format's version (the constant Schema).
	Schema int `json:"schema"`
	// ChainID identifies the layers the inventory was computed from (see
	// ChainID): images with the same layers share it.
	ChainID string `json:"chainID"`
	// Distro is what /etc/os-release says.
	Distro Distro `json:"distro"`
	// Databases are the package databases found, with their errors.
	Databases []Database `json:"databases"`
	// Packages are sorted by name, then type, version and path.
	Packages []Package `json:"packages"`
	// Notes say what was not looked at, and why (a file over the size
	// limit, the scan budget spent, an unreadable file).
	Notes []string `json:"notes,omitempty"`
}

// Distro is the distribution an image says it is, from os-release.
type Distro struct {
	ID        string `json:"id,omitempty"`        // debian, ubuntu, alpine, rocky...
	VersionID string `json:"versionID,omitempty"` // 12, 3.18.4, 9.3
	Codename  string `json:"codename,omitempty"`  // bookworm
	Name      string `json:"name,omitempty"`      // PRETTY_NAME
}

// Database is a package database of the image.
type Database struct {
	Type     string `json:"type"` // TypeDeb, TypeRPM, TypeAPK
	Path     string `json:"path"`
	Layer    string `json:"layer"`
	Packages int    `json:"packages"`
	// Error says why the database could not be read (whole or in part).
	Error string `json:"error,omitempty"`
}

// Package is one piece of software in an image.
type Package struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Version string `json:"version"`
	// Source is the source package (dpkg's Source, the name of an rpm's
	// source rpm, apk's origin); for a library or an embedded copy, the
	// product (zlib, openssl).
	Source        string `json:"source,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	Arch          string `json:"arch,omitempty"`
	// PURL is the package URL (github.com/package-url/purl-spec).
	PURL  string `json:"purl"`
	Found Found  `json:"found"`
}

// Found says where an entry came from.
type Found struct {
	How string `json:"how"` // FromDpkg, FromGoBuildInfo, FromVersionString...
	// Path is the package database, or the file the entry is in.
	Path string `json:"path"`
	// Layer is the diff ID of the layer that holds Path.
	Layer string `json:"layer"`
	// Package is the package owning Path, for a copy found inside a
	// packaged file.
	Package string `json:"package,omitempty"`
	// Detail is what the entry was read from: the version strings, the
	// Go version, a file name that disagrees with them.
	Detail string `json:"detail,omitempty"`
}

// Unknown is the version of a copy whose version could not be told.
const Unknown = "unknown"

// HasDatabase reports whether the image has a package database that
// could be read: without one, nothing can be said about what it is
// missing.
func (inv *Inventory) HasDatabase() bool {
	for _, d := range inv.Databases {
		if d.Error == "" {
			return true
		}
	}
	return false
}

// Names are the names an entry answers to: its name, its source package
// and, for a library file, its file name's stem (libz).
func (p Package) Names() []string {
	names := []string{p.Name}
	if p.Source != "" && p.Source != p.Name {
		names = append(names, p.Source)
	}
	return names
}

// Matches reports whether the entry carries name: its binary or source
// package name, the product of a library or embedded copy, or a Go
// module path, compared without case ("zlib" finds zlib1g's source zlib,
// a vendored libz.so and a static copy; "libz" finds the library file).
func (p Package) Matches(name string) bool {
	for _, n := range p.Names() {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func sortPackages(pkgs []Package) {
	sort.Slice(pkgs, func(i, j int) bool {
		a, b := pkgs[i], pkgs[j]
		switch {
		case a.Name != b.Name:
			return a.Name < b.Name
		case a.Type != b.Type:
			return a.Type < b.Type
		case a.Version != b.Version:
			return a.Version < b.Version
		}
		return a.Found.Path < b.Found.Path
	})
}
