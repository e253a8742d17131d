package inventory

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDpkgStatus(t *testing.T) {
	status := `Package: zlib1g
Status: install ok installed
Priority: required
Architecture: amd64
Multi-Arch: same
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime
 zlib is a library implementing the deflate compression method found
 in gzip and PKZIP.

Package: gone
Status: deinstall ok config-files
Version: 1.0

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2+b1
Conffiles:
 /etc/x 0123

Package: nostatus
Version: 2.0
Architecture: all
`
	got, err := ParseDpkgStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	want := []dpkgPackage{
		{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Source: "zlib", SourceVersion: "1:1.2.13.dfsg-1", Arch: "amd64"},
		{Name: "libssl3", Version: "3.0.11-1~deb12u2+b1", Source: "openssl", SourceVersion: "3.0.11-1~deb12u2", Arch: "amd64"},
		{Name: "nostatus", Version: "2.0", Source: "nostatus", SourceVersion: "2.0", Arch: "all"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseDpkgStatus([]byte("Package: x\nthis is not a field\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a line that is no field: %v, want an error naming line 2", err)
	}
}

func TestParseAPKInstalled(t *testing.T) {
	db := `C:Q1abc=
P:zlib
V:1.2.13-r0
A:x86_64
L:Zlib
o:zlib
F:lib
R:libz.so.1
R:libz.so.1.2.13

P:libcrypto3
V:3.1.4-r1
A:x86_64
o:openssl
F:usr/lib
R:libcrypto.so.3
`
	got, err := ParseAPKInstalled([]byte(db))
	if err != nil {
		t.Fatal(err)
	}
	want := []apkPackage{
		{Name: "zlib", Version: "1.2.13-r0", Origin: "zlib", Arch: "x86_64", Files: []string{"/lib/libz.so.1", "/lib/libz.so.1.2.13"}},
		{Name: "libcrypto3", Version: "3.1.4-r1", Origin: "openssl", Arch: "x86_64", Files: []string{"/usr/lib/libcrypto.so.3"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseAPKInstalled([]byte("P:x\nnot a field\n")); err == nil {
		t.Error("a line that is no field parsed")
	}
}

func TestParseFileList(t *testing.T) {
	got := parseFileList([]byte("/.\n/usr/lib/x86_64-linux-gnu/libz.so.1\n\n"), false)
	if diff := cmp.Diff([]string{"/.", "/usr/lib/x86_64-linux-gnu/libz.so.1"}, got); diff != "" {
		t.Errorf(".list (-want +got):\n%s", diff)
	}
	got = parseFileList([]byte("0123456789abcdef  usr/lib/libz.so.1.2.13\nbroken\n"), true)
	if diff := cmp.Diff([]string{"/usr/lib/libz.so.1.2.13"}, got); diff != "" {
		t.Errorf(".md5sums (-want +got):\n%s", diff)
	}
}

func TestParseOSRelease(t *testing.T) {
	d := ParseOSRelease([]byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n# ID=other\n"))
	if want := (Distro{ID: "debian", VersionID: "12", Codename: "bookworm", Name: "Debian GNU/Linux 12 (bookworm)"}); d != want {
		t.Errorf("got %+v, want %+v", d, want)
	}
	for _, tt := range []struct {
		d    Distro
		want string
	}{
		{Distro{ID: "debian", VersionID: "11"}, "bullseye"},
		{Distro{ID: "alpine", VersionID: "3.18.4"}, "v3.18"},
		{Distro{ID: "rocky", VersionID: "9.3"}, "9"},
	} {
		if got := tt.d.Release(); got != tt.want {
			t.Errorf("%+v: release %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestLibraryName(t *testing.T) {
	for _, tt := range []struct {
		base, stem, version string
		ok                  bool
	}{
		{"libz.so.1.2.11", "libz", "1.2.11", true},
		{"libz.so.1", "libz", "", true},
		{"libz.so", "libz", "", true},
		{"libssl.so.3", "libssl", "", true},
		{"libfoo.so.1.2.beta", "libfoo", "", true},
		{"libfoo.sock", "", "", false},
		{"zlib.so.1.2.11", "", "", false},
		{"lib.so", "", "", false},
	} {
		stem, version, ok := libraryName(tt.base)
		if stem != tt.stem || version != tt.version || ok != tt.ok {
			t.Errorf("libraryName(%q) = %q, %q, %v; want %q, %q, %v", tt.base, stem, version, ok, tt.stem, tt.version, tt.ok)
		}
	}
}

func TestPURL(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{purl("deb", "debian", "zlib1g", "1:1.2.13.dfsg-1", map[string]string{"arch": "amd64", "distro": "debian-12"}),
			"pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12"},
		{goPURL("github.com/spf13/cobra", "v1.10.2"), "pkg:golang/github.com/spf13/cobra@v1.10.2"},
		{purl("generic", "", "zlib", "", nil), "pkg:generic/zlib"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}

func TestRPMSourceName(t *testing.T) {
	for srpm, want := range map[string]string{
		"zlib-1.2.11-40.el9.src.rpm":        "zlib",
		"openssl-libs-3.0.7-27.el9.src.rpm": "openssl-libs",
		"broken.src.rpm":                    "",
		"":                                  "",
	} {
		if got := rpmSourceName(srpm); got != want {
			t.Errorf("rpmSourceName(%q) = %q, want %q", srpm, got, want)
		}
	}
}
