package inventory

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/tests/testenv"
)

// The vulnerability fixtures (inventory/vulndb/testdata): CVE-2099-0001
// affects zlib 1.2.13 in Debian 12 (fixed in 1:1.2.13.dfsg-1+deb12u9),
// Alpine 3.18 (1.3.1-r0), Rocky Linux 9 (1.2.11-41.el9) and upstream
// (v1.2.11 to v1.3), in OSV's records and Debian's tracker.
var vulnData = []string{
	"osv/DEBIAN-CVE-2099-0001.json", "osv/ALPINE-CVE-2099-0001.json", "osv/RLSA-2099-0001.json",
	"osv/CVE-2099-0001.json", "debian-tracker.json",
}

const fixtures = projectDir + "/inventory/vulndb/testdata/"

// zlibStore imports an image for each form zlib comes in, and a fixed
// image and a Go binary's image that must not be reported.
func zlibStore(t *testing.T) string {
	t.Helper()
	testenv.RequireRoot(t)
	libz := hostData(t, hostLibz)
	store := filepath.Join(t.TempDir(), "store")

	importRootfs(t, store, serviceImage(t, "memcached"), "test/debian")

	rpmdb, err := os.ReadFile(testenv.RPMDatabase(t, "zlib", "1.2.11", "40.el9", "/usr/lib64/libz.so.1.2.11"))
	if err != nil {
		t.Fatal(err)
	}
	importRootfs(t, store, writeRootfs(t, map[string]entry{
		"etc/os-release":                    {data: "ID=rocky\nVERSION_ID=\"9.3\"\n"},
		"usr/lib/sysimage/rpm/rpmdb.sqlite": {data: string(rpmdb)},
		"var/lib/rpm":                       {link: "../../usr/lib/sysimage/rpm"},
		"usr/lib64/libz.so.1.2.11":          {data: libz, mode: 0o755},
		"usr/lib64/libz.so.1":               {link: "libz.so.1.2.11"},
	}), "test/rpm")

	importRootfs(t, store, writeRootfs(t, map[string]entry{
		"etc/os-release":       {data: "ID=alpine\nVERSION_ID=3.18.4\n"},
		"lib/apk/db/installed": {data: "C:Q1test=\nP:zlib\nV:1.2.13-r1\nA:x86_64\nL:Zlib\no:zlib\nF:lib\nR:libz.so.1\nR:libz.so.1.2.13\n\n"},
		"lib/libz.so.1.2.13":   {data: libz, mode: 0o755},
		"lib/libz.so.1":        {link: "libz.so.1.2.13"},
	}), "test/alpine")

	importRootfs(t, store, writeRootfs(t, map[string]entry{
		"opt/app/lib/libz.so.1.2.13": {data: libz},
		"opt/app/lib/libz.so.1":      {link: "libz.so.1.2.13"},
		"opt/app/bin/app":            {data: "#!/bin/sh\n# linked with zlib: deflate 1.2.11 Copyright\n", mode: 0o755},
	}), "test/vendored")

	static, err := os.ReadFile(staticZlibBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	importRootfs(t, store, writeRootfs(t, map[string]entry{"usr/local/bin/gz": {data: string(static), mode: 0o755}}), "test/static")

	hello, err := os.ReadFile(goBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	importRootfs(t, store, writeRootfs(t, map[string]entry{"hello": {data: string(hello), mode: 0o755}}), "test/go")

	importRootfs(t, store, writeRootfs(t, map[string]entry{
		"etc/os-release":      {data: "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"},
		"var/lib/dpkg/status": {data: "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1+deb12u9\n"},
		"opt/libz.so.1.3.1":   {data: "\x7fELF" + strings.Repeat("\x00", 60) + " deflate 1.3.1 Copyright 1995-2024 Jean-loup Gailly and Mark Adler \x00"},
	}), "test/fixed")
	return store
}

// copyOf is a row of which, as the test compares it.
type copyOf struct {
	Image   string
	Type    string
	Name    string
	Version string
	Path    string
}

// TestWhichAndAuditFindEveryCopy: which zlib lists the copy of each
// form and nothing else; audit reports every vulnerable copy, not the
// fixed ones nor the Go binary, says which images it cannot vouch for,
// and exits 1.
func TestWhichAndAuditFindEveryCopy(t *testing.T) {
	store := zlibStore(t)
	out, stderr, status := dockah(t, store, "image", "which", "zlib", "--format", "json")
	if status != 0 {
		t.Fatalf("which: exit status %d\n%s", status, stderr)
	}
	var found []struct {
		Names   []string
		Type    string
		Name    string
		Version string
		Found   struct{ How, Path, Layer string }
	}
	if err := json.Unmarshal([]byte(out), &found); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []copyOf
	debianZlib := ""
	for _, f := range found {
		if f.Names[0] == "localhost/test/debian:latest" {
			debianZlib = f.Version
			f.Version = "(the image's)"
		}
		got = append(got, copyOf{strings.TrimPrefix(f.Names[0], "localhost/test/"), f.Type, f.Name, f.Version, f.Found.Path})
	}
	sort.Slice(got, func(i, j int) bool { return fmt.Sprint(got[i]) < fmt.Sprint(got[j]) })
	want := []copyOf{
		{"alpine:latest", "apk", "zlib", "1.2.13-r1", "/lib/apk/db/installed"},
		{"debian:latest", "deb", "zlib1g", "(the image's)", "/var/lib/dpkg/status"},
		{"fixed:latest", "deb", "zlib1g", "1:1.2.13.dfsg-1+deb12u9", "/var/lib/dpkg/status"},
		{"fixed:latest", "library", "libz", "1.3.1", "/opt/libz.so.1.3.1"},
		{"rpm:latest", "rpm", "zlib", "1.2.11-40.el9", "/usr/lib/sysimage/rpm/rpmdb.sqlite"},
		{"static:latest", "embedded", "zlib", "1.2.13", "/usr/local/bin/gz"},
		{"vendored:latest", "library", "libz", "1.2.13", "/opt/app/lib/libz.so.1.2.13"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("which zlib (-want +got):\n%s\n%s", diff, out)
	}
	if !strings.HasPrefix(debianZlib, "1:1.2.13.dfsg-1") {
		t.Errorf("the Debian image's zlib1g is %q, want bookworm's 1:1.2.13.dfsg-1...", debianZlib)
	}
	if _, stderr, _ := dockah(t, store, "image", "which", "zlib"); !strings.Contains(stderr, "7 copies of zlib in 6 images") {
		t.Errorf("which's summary:\n%s", stderr)
	}

	args := []string{"image", "audit", "--format", "json"}
	for _, d := range vulnData {
		args = append(args, "--db", fixtures+d)
	}
	out, stderr, status = dockah(t, store, args...)
	if status != 1 {
		t.Errorf("audit: exit status %d, want 1\n%s", status, stderr)
	}
	var report struct {
		Images []struct {
			Names    []string
			Status   string
			Unknown  string
			Findings []struct {
				CVE, Installed, Fixed, Status string
				Package                       struct{ Type, Name string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var findings, statuses []string
	for _, img := range report.Images {
		name := strings.TrimPrefix(img.Names[0], "localhost/test/")
		statuses = append(statuses, name+" "+img.Status)
		for _, f := range img.Findings {
			findings = append(findings, fmt.Sprintf("%s %s %s %s %s fixed %q", name, f.CVE, f.Status, f.Package.Type, f.Package.Name, f.Fixed))
		}
	}
	sort.Strings(findings)
	wantFindings := []string{
		`alpine:latest CVE-2099-0001 affected apk zlib fixed "1.3.1-r0"`,
		`debian:latest CVE-2099-0001 affected deb zlib1g fixed "1:1.2.13.dfsg-1+deb12u9"`,
		`rpm:latest CVE-2099-0001 affected rpm zlib fixed "1.2.11-41.el9"`,
		`static:latest CVE-2099-0001 affected embedded zlib fixed ""`,
		`vendored:latest CVE-2099-0001 affected library libz fixed ""`,
	}
	if diff := cmp.Diff(wantFindings, findings); diff != "" {
		t.Errorf("audit findings (-want +got):\n%s", diff)
	}
	sort.Strings(statuses)
	wantStatuses := []string{
		"alpine:latest affected", "debian:latest affected", "fixed:latest clean", "go:latest unknown",
		"rpm:latest affected", "static:latest affected", "vendored:latest affected",
	}
	if diff := cmp.Diff(wantStatuses, statuses); diff != "" {
		t.Errorf("audit statuses (-want +got):\n%s", diff)
	}
	if _, _, status := dockah(t, store, append(args, "test/fixed")...); status != 0 {
		t.Errorf("audit of the fixed image: exit status %d, want 0", status)
	}
	if _, _, status := dockah(t, store, append(args, "test/go")...); status != 3 {
		t.Errorf("audit of an image without a package database: exit status %d, want 3 (unknown)", status)
	}
}

// TestPackagesOfEachForm: image packages names the source of each entry
// (database, file, layer) and a purl; the Go binary's modules are there.
func TestPackagesOfEachForm(t *testing.T) {
	store := zlibStore(t)
	for image, want := range map[string][]string{
		"test/rpm":    {`"purl": "pkg:rpm/rocky/zlib@1.2.11-40.el9?arch=x86_64&distro=rocky-9.3"`, `"how": "rpm database"`},
		"test/alpine": {`"purl": "pkg:apk/alpine/zlib@1.2.13-r1?arch=x86_64&distro=alpine-3.18.4"`},
		"test/debian": {`"purl": "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1`, `"source": "zlib"`},
		"test/static": {`"purl": "pkg:generic/zlib@1.2.13"`, `"detail": "deflate 1.2.13, inflate 1.2.13"`},
		"test/go":     {`"purl": "pkg:golang/github.com/coreos/go-systemd/v22@v22.`, `"name": "stdlib"`, `"how": "go build info"`},
	} {
		out, stderr, status := dockah(t, store, "image", "packages", "--format", "json", image)
		if status != 0 {
			t.Errorf("packages %s: exit status %d\n%s", image, status, stderr)
			continue
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("packages %s lacks %s:\n%.3000s", image, w, out)
			}
		}
		if !strings.Contains(out, `"layer": "sha256:`) {
			t.Errorf("packages %s names no layer", image)
		}
	}
	// The rpm image's libz is its package's: not a vendored copy too.
	out, _, _ := dockah(t, store, "image", "packages", "test/rpm")
	if strings.Contains(out, "library") || strings.Contains(out, "embedded") {
		t.Errorf("the rpm's own libz is listed as a copy of its own:\n%s", out)
	}
}
