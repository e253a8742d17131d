package vulndb

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/inventory"
	"github.com/dockah/dockah/inventory/version"
)

var bookworm = inventory.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"}

func pkg(typ, name, version, source string) inventory.Package {
	return inventory.Package{Type: typ, Name: name, Version: version, Source: source, SourceVersion: version,
		Found: inventory.Found{Path: "/" + name}}
}

// zlibCopies are zlib 1.2.13 in every form, and fixed ones.
func zlibCopies() map[string]*inventory.Inventory {
	return map[string]*inventory.Inventory{
		"debian": {Distro: bookworm, Packages: []inventory.Package{
			pkg(inventory.TypeDeb, "zlib1g", "1:1.2.13.dfsg-1", "zlib"),
			pkg(inventory.TypeDeb, "libssl3", "3.0.11-1~deb12u2", "openssl"),
		}},
		"debian fixed": {Distro: bookworm, Packages: []inventory.Package{pkg(inventory.TypeDeb, "zlib1g", "1:1.2.13.dfsg-1+deb12u9", "zlib")}},
		"alpine": {Distro: inventory.Distro{ID: "alpine", VersionID: "3.18.4"}, Packages: []inventory.Package{
			pkg(inventory.TypeAPK, "zlib", "1.2.13-r1", "zlib"),
		}},
		"alpine 3.19": {Distro: inventory.Distro{ID: "alpine", VersionID: "3.19.0"}, Packages: []inventory.Package{
			pkg(inventory.TypeAPK, "zlib", "1.2.13-r1", "zlib"),
		}},
		"rocky": {Distro: inventory.Distro{ID: "rocky", VersionID: "9.3"}, Packages: []inventory.Package{
			pkg(inventory.TypeRPM, "zlib", "1.2.11-40.el9", "zlib"),
		}},
		"rocky fixed": {Distro: inventory.Distro{ID: "rocky", VersionID: "9.3"}, Packages: []inventory.Package{
			pkg(inventory.TypeRPM, "zlib", "1.2.11-41.el9_3", "zlib"),
		}},
		"vendored": {Packages: []inventory.Package{
			pkg(inventory.TypeLibrary, "libz", "1.2.13", "zlib"),
			pkg(inventory.TypeEmbedded, "zlib", "1.2.11", "zlib"),
			withPath(pkg(inventory.TypeEmbedded, "zlib", inventory.Unknown, "zlib"), "/misleading"),
		}},
		"vendored fixed": {Packages: []inventory.Package{pkg(inventory.TypeLibrary, "libz", "1.3.1", "zlib")}},
		"go": {Packages: []inventory.Package{
			pkg(inventory.TypeGo, "github.com/coreos/go-systemd/v22", "v22.7.0", ""),
			pkg(inventory.TypeGo, "stdlib", "1.26.8", ""),
		}},
	}
}

// brief is a finding as the tests compare it.
func brief(f Finding) string {
	s := fmt.Sprintf("%s %s %s %s fixed %q %s by %s", f.CVE, f.Package.Type, f.Package.Name, f.Installed, f.Fixed, f.Status, strings.Join(f.Advisories, ","))
	if f.Note != "" {
		s += " (" + f.Note + ")"
	}
	return s
}

func loadTestdata(t *testing.T, paths ...string) *DB {
	t.Helper()
	db, err := Load(paths, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMatch(t *testing.T) {
	db := loadTestdata(t, "testdata/osv", "testdata/debian-tracker.json")
	want := map[string][]string{
		"debian": {`CVE-2099-0001 deb zlib1g 1:1.2.13.dfsg-1 fixed "1:1.2.13.dfsg-1+deb12u9" affected by DEBIAN-CVE-2099-0001,debian-tracker`},
		"alpine": {`CVE-2099-0001 apk zlib 1.2.13-r1 fixed "1.3.1-r0" affected by ALPINE-CVE-2099-0001`},
		"rocky":  {`CVE-2099-0001 rpm zlib 1.2.11-40.el9 fixed "1.2.11-41.el9" affected by RLSA-2099:0001`},
		"vendored": {
			`CVE-2099-0001 embedded zlib 1.2.11 fixed "" affected by CVE-2099-0001`,
			`CVE-2099-0001 embedded zlib unknown fixed "" unknown by CVE-2099-0001 (the copy's version is unknown)`,
			`CVE-2099-0001 library libz 1.2.13 fixed "" affected by CVE-2099-0001`,
		},
		"go": {`CVE-2099-0002 golang github.com/coreos/go-systemd/v22 v22.7.0 fixed "22.99.0" affected by GO-2099-0002`},
	}
	for name, inv := range zlibCopies() {
		var got []string
		for _, f := range db.Match(inv) {
			got = append(got, brief(f))
		}
		sort.Strings(got)
		if diff := cmp.Diff(want[name], got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// TestLoadZip reads the records from the zip OSV publishes per
// ecosystem, as from the directory.
func TestLoadZip(t *testing.T) {
	zipPath := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	entries, _ := os.ReadDir("testdata/osv")
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join("testdata/osv", e.Name()))
		w, _ := zw.Create(e.Name())
		w.Write(data)
	}
	w, _ := zw.Create("broken.json")
	w.Write([]byte("{not json"))
	zw.Close()
	f.Close()
	db := loadTestdata(t, zipPath)
	if db.Skipped != 1 {
		t.Errorf("%d records skipped, want the broken one", db.Skipped)
	}
	if got := db.Match(zlibCopies()["alpine"]); len(got) != 1 {
		t.Errorf("from the zip: %v", got)
	}
}

// TestTrackerStatuses: open and undetermined issues are findings without
// a fix; a fix of "0" means the release never had the flaw.
func TestTrackerStatuses(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tracker.json")
	os.WriteFile(p, []byte(`{"zlib": {
		"CVE-2099-1": {"releases": {"bookworm": {"status": "open", "urgency": "unimportant"}}},
		"CVE-2099-2": {"releases": {"bookworm": {"status": "undetermined"}}},
		"CVE-2099-3": {"releases": {"bookworm": {"status": "resolved", "fixed_version": "0"}}},
		"CVE-2099-4": {"releases": {"bullseye": {"status": "open"}}}
	}, "other": {"CVE-2099-5": {"releases": {}}}}`), 0o644)
	db := loadTestdata(t, p)
	var got []string
	for _, f := range db.Match(zlibCopies()["debian"]) {
		got = append(got, brief(f))
	}
	want := []string{
		`CVE-2099-1 deb zlib1g 1:1.2.13.dfsg-1 fixed "" affected by debian-tracker (open, unimportant)`,
		`CVE-2099-2 deb zlib1g 1:1.2.13.dfsg-1 fixed "" affected by debian-tracker (undetermined)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLoadKeepsWanted: only the packages asked for are kept.
func TestLoadKeepsWanted(t *testing.T) {
	db, err := Load([]string{"testdata/osv", "testdata/debian-tracker.json"}, func(n string) bool { return n == "openssl" })
	if err != nil {
		t.Fatal(err)
	}
	if len(db.osv) != 0 || len(db.tracker) != 1 || db.tracker["openssl"] == nil {
		t.Errorf("kept OSV %v, tracker %v", db.osv, db.tracker)
	}
	if len(Names(zlibCopies()["debian"])) != 4 {
		t.Errorf("names %v", Names(zlibCopies()["debian"]))
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"truncated tracker": `{"zlib": {"CVE-1": {"releases": `,
		"not an object":     `42`,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		os.WriteFile(p, []byte(data), 0o644)
		if _, err := Load([]string{p}, func(string) bool { return true }); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
	if _, err := Load([]string{filepath.Join(dir, "missing")}, func(string) bool { return true }); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestUpstreamVersion(t *testing.T) {
	for tag, want := range map[string]string{
		"v1.2.11": "1.2.11", "zlib-1.2.11": "1.2.11", "OpenSSL_1_1_1w": "1.1.1w", "openssl-3.0.11": "3.0.11", "1.3": "1.3",
	} {
		if got := upstreamVersion(tag); got != want {
			t.Errorf("upstreamVersion(%q) = %q, want %q", tag, got, want)
		}
	}
}

func FuzzParseOSV(f *testing.F) {
	for _, name := range []string{"DEBIAN-CVE-2099-0001.json", "CVE-2099-0001.json", "GO-2099-0002.json"} {
		data, err := os.ReadFile(filepath.Join("testdata/osv", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "1:1.2.13.dfsg-1")
	}
	f.Add([]byte(`[{"id":"x","affected":[{"package":{"ecosystem":"Go","name":"m"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1"},{"introduced":"2"},{"last_affected":"0"}]}]}]}]`), "1.5")
	f.Fuzz(func(t *testing.T, data []byte, v string) {
		recs, err := parseOSV(data)
		if err != nil {
			return
		}
		for _, r := range recs {
			r.cve()
			for i := range r.Affected {
				for _, eco := range []string{"deb", "rpm", "apk", "semver"} {
					hit, fixed := affects(&r.Affected[i], v, func(a, b string) int { return compareFor(eco, a, b) })
					if !hit && fixed != "" {
						t.Fatalf("not affected but fixed in %q", fixed)
					}
				}
			}
		}
	})
}

func FuzzParseTracker(f *testing.F) {
	data, err := os.ReadFile("testdata/debian-tracker.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"a": {}, "b": [], "c": {"CVE": {"releases": {"x": {}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tracker, err := parseTracker(strings.NewReader(string(data)), func(s string) bool { return len(s)%2 == 0 })
		if err != nil {
			return
		}
		db := &DB{osv: map[string][]osvEntry{}, tracker: tracker}
		inv := &inventory.Inventory{Distro: bookworm}
		for source := range tracker {
			inv.Packages = append(inv.Packages, pkg(inventory.TypeDeb, source, "1.0", source))
		}
		db.Match(inv)
	})
}

func compareFor(eco, a, b string) int { return version.Compare(eco, a, b) }

func withPath(p inventory.Package, path string) inventory.Package {
	p.Found.Path = path
	return p
}
