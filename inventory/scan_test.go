package inventory

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const debianRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
ID=debian
VERSION_ID="12"
VERSION_CODENAME=bookworm
`

const zlibStanza = `Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
`

// summary is an entry as the tests compare it: type, name, version,
// how and where it was found, and its layer.
func summary(inv *Inventory, keep func(Package) bool) []string {
	var out []string
	for _, p := range inv.Packages {
		if keep != nil && !keep(p) {
			continue
		}
		s := fmt.Sprintf("%s %s %s: %s %s %s", p.Type, p.Name, p.Version, p.Found.How, p.Found.Path, p.Found.Layer)
		if p.Found.Package != "" {
			s += " in " + p.Found.Package
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// TestScanFindsEveryForm: a package's own copy (through the /lib ->
// usr/lib symlink its file list names), a vendored library, static
// copies, and a Go binary's modules; nothing in a file that is no
// binary, and a misleading binary has a copy of unknown version.
func TestScanFindsEveryForm(t *testing.T) {
	libz := hostFile(t, "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13")
	gobin := hostFile(t, buildHello(t))
	bottom := layerFiles{
		files: map[string]string{
			"etc/os-release": debianRelease,
			"usr/lib/x86_64-linux-gnu/libz.so.1.2.13": libz,
			"var/lib/dpkg/status":                     zlibStanza,
			"var/lib/dpkg/info/zlib1g:amd64.list":     "/.\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libz.so.1.2.13\n",
		},
		links: map[string]string{"lib": "usr/lib", "usr/lib/x86_64-linux-gnu/libz.so.1": "libz.so.1.2.13"},
	}
	top := layerFiles{
		files: map[string]string{
			"opt/app/lib/libz.so.1.2.11": fakeELF(" deflate 1.2.11 Copyright 1995-2017 Jean-loup Gailly and Mark Adler "),
			"usr/local/bin/static":       fakeELF(" inflate 1.2.11 Copyright 1995-2017 Mark Adler \x00OpenSSL 1.1.1w  11 Sep 2023\x00"),
			"usr/local/bin/misleading":   fakeELF("deflate 1.2.11 Copyright\x00inflate 1.3.1 Copyright"),
			"usr/local/bin/script":       "#!/bin/sh\n# deflate 1.2.11 Copyright\n" + strings.Repeat("#", 100),
			"usr/local/bin/app":          gobin,
			"opt/app/lib/libfoo.so.2.1":  fakeELF("nothing"),
		},
		modes: map[string]os.FileMode{"usr/local/bin/static": 0o755, "usr/local/bin/misleading": 0o755, "usr/local/bin/script": 0o755, "usr/local/bin/app": 0o755},
		links: map[string]string{"loop/a": "b", "loop/b": "a"},
	}
	inv := scanLayers(t, Options{}, bottom, top)
	if inv.Distro.Codename != "bookworm" || !inv.HasDatabase() {
		t.Errorf("distro %+v, databases %+v", inv.Distro, inv.Databases)
	}
	got := summary(inv, func(p Package) bool { return p.Type != TypeGo })
	want := []string{
		"deb zlib1g 1:1.2.13.dfsg-1: dpkg database /var/lib/dpkg/status L0",
		"embedded openssl 1.1.1w: version string /usr/local/bin/static L1",
		"embedded zlib 1.2.11: version string /usr/local/bin/static L1",
		"embedded zlib unknown: version string /usr/local/bin/misleading L1",
		"library libfoo 2.1: file name /opt/app/lib/libfoo.so.2.1 L1",
		"library libz 1.2.11: version string /opt/app/lib/libz.so.1.2.11 L1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	var stdlib, dep bool
	for _, p := range inv.Packages {
		if p.Type != TypeGo {
			continue
		}
		if p.Found.Path != "/usr/local/bin/app" || p.Found.Layer != "L1" {
			t.Errorf("Go module %s found at %+v", p.Name, p.Found)
		}
		stdlib = stdlib || p.Name == "stdlib" && strings.HasPrefix(p.PURL, "pkg:golang/stdlib@1.")
		dep = dep || p.Name == "github.com/coreos/go-systemd/v22" && strings.HasPrefix(p.PURL, "pkg:golang/github.com/coreos/go-systemd/v22@v22.")
	}
	if !stdlib || !dep {
		t.Errorf("the Go binary's stdlib (%v) and go-systemd (%v) are not both listed", stdlib, dep)
	}
	for _, p := range inv.Packages {
		if p.Matches("zlib") != (p.Source == "zlib") {
			t.Errorf("%s %s: Matches(zlib) = %v", p.Type, p.Name, p.Matches("zlib"))
		}
	}
}

// TestScanDistroless: distroless's status.d has a stanza per package and
// the package's files in NAME.md5sums: its libz is the package's.
func TestScanDistroless(t *testing.T) {
	inv := scanLayers(t, Options{}, layerFiles{files: map[string]string{
		"etc/os-release":                            debianRelease,
		"var/lib/dpkg/status.d/zlib1g":              zlibStanza,
		"var/lib/dpkg/status.d/zlib1g.md5sums":      "0123456789abcdef0123456789abcdef  usr/lib/x86_64-linux-gnu/libz.so.1.2.13\n",
		"usr/lib/x86_64-linux-gnu/libz.so.1.2.13":   fakeELF("deflate 1.2.13 Copyright"),
		"usr/lib/x86_64-linux-gnu/libzstd.so.1.5.4": fakeELF("zstd"),
	}})
	want := []string{
		"deb zlib1g 1:1.2.13.dfsg-1: dpkg database /var/lib/dpkg/status.d/zlib1g L0",
		"library libzstd 1.5.4: file name /usr/lib/x86_64-linux-gnu/libzstd.so.1.5.4 L0",
	}
	if diff := cmp.Diff(want, summary(inv, nil)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// TestScanAPK: apk's database and the files it lists.
func TestScanAPK(t *testing.T) {
	inv := scanLayers(t, Options{}, layerFiles{files: map[string]string{
		"etc/os-release":        "ID=alpine\nVERSION_ID=3.18.4\n",
		"lib/apk/db/installed":  "P:zlib\nV:1.2.13-r1\nA:x86_64\no:zlib\nF:lib\nR:libz.so.1.2.13\n\n",
		"lib/libz.so.1.2.13":    fakeELF("inflate 1.2.13 Copyright"),
		"usr/bin/vendored-zlib": fakeELF("inflate 1.2.12 Copyright"),
	}, modes: map[string]os.FileMode{"usr/bin/vendored-zlib": 0o755}})
	want := []string{
		"apk zlib 1.2.13-r1: apk database /lib/apk/db/installed L0",
		"embedded zlib 1.2.12: version string /usr/bin/vendored-zlib L0",
	}
	if diff := cmp.Diff(want, summary(inv, nil)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if p := inv.Packages[0]; p.PURL != "pkg:apk/alpine/zlib@1.2.13-r1?arch=x86_64&distro=alpine-3.18.4" {
		t.Errorf("purl %s", p.PURL)
	}
}

// TestScanHostile: a symlink loop where the database should be, a
// database over the limit, a directory named as the rpm database, a
// corrupt database and a file over the size limit are errors and notes;
// the scan finishes and does not call the image clean.
func TestScanHostile(t *testing.T) {
	inv := scanLayers(t, Options{MaxDatabase: 1 << 10, MaxFile: 1 << 10}, layerFiles{
		files: map[string]string{
			"lib/apk/db/installed":                 strings.Repeat("P:x\n", 1<<10),
			"var/lib/rpm/rpmdb.sqlite/x":           "a directory",
			"usr/lib/sysimage/rpm/Packages":        "not a Berkeley DB",
			"usr/bin/big":                          fakeELF(strings.Repeat("x", 2<<10)),
			"var/lib/dpkg/status.d/broken":         "no field here\n",
			"var/lib/dpkg/status.d/broken.md5sums": "x",
		},
		modes: map[string]os.FileMode{"usr/bin/big": 0o755},
		links: map[string]string{"var/lib/dpkg/status": "status", "etc/os-release": "../etc/os-release"},
	})
	if inv.HasDatabase() {
		t.Errorf("an image with only broken databases has one: %+v", inv.Databases)
	}
	errs := map[string]string{}
	for _, db := range inv.Databases {
		errs[db.Path] = db.Error
	}
	for p, want := range map[string]string{
		"/var/lib/dpkg/status":           "too many levels of symbolic links",
		"/lib/apk/db/installed":          "more than the limit",
		"/var/lib/rpm/rpmdb.sqlite":      "not a regular file",
		"/usr/lib/sysimage/rpm/Packages": "not read by this program",
		"/var/lib/dpkg/status.d/broken":  "not a field",
	} {
		if !strings.Contains(errs[p], want) {
			t.Errorf("database %s: error %q, want one saying %q", p, errs[p], want)
		}
	}
	if notes := strings.Join(inv.Notes, "\n"); !strings.Contains(notes, "/usr/bin/big: not read") || !strings.Contains(notes, "os-release") {
		t.Errorf("notes lack the big file or os-release's loop:\n%s", notes)
	}
}

// TestScanBudget: once the byte budget is spent, the rest is named, not
// read.
func TestScanBudget(t *testing.T) {
	files := map[string]string{}
	modes := map[string]os.FileMode{}
	for i := range 8 {
		p := fmt.Sprintf("bin/b%d", i)
		files[p] = fakeELF(strings.Repeat("y", 1000) + "inflate 1.2.11 Copyright")
		modes[p] = 0o755
	}
	inv := scanLayers(t, Options{MaxScan: 3000, Workers: 1}, layerFiles{files: files, modes: modes})
	if n := len(inv.Packages); n == 0 || n >= 8 {
		t.Errorf("%d copies found within a budget for two or three files", n)
	}
	if notes := strings.Join(inv.Notes, "\n"); !strings.Contains(notes, "scan budget") {
		t.Errorf("notes do not say the budget was spent:\n%s", notes)
	}
}
