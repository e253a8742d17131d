//go:build !lean

package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
)

// TestMain lets the test binary be the rpm database reader that image
// packages runs as a child ("dockah image read-rpmdb PATH").
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "image" && os.Args[2] == "read-rpmdb" {
		root := newRootCommand()
		root.SetArgs(os.Args[1:])
		if err := root.Execute(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Transient containers' records (the build's) go to a directory of
	// the tests', not to the host's /run/dockah.
	volatile, err := os.MkdirTemp("", "dockah-volatile-")
	if err != nil {
		panic(err)
	}
	launch.VolatileRoot = volatile
	code := m.Run()
	os.RemoveAll(volatile)
	os.Exit(code)
}

const zlibStatus = `Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
`

// importTestImage imports a root filesystem of files as name into the
// store at root.
func importTestImage(t *testing.T, root, name string, files map[string]string) string {
	t.Helper()
	st, err := rootfs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// In name order: the same files make the same layer.
	for _, p := range slices.Sorted(maps.Keys(files)) {
		data := files[p]
		tw.WriteHeader(&tar.Header{Name: p, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()
	src := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	imgs, err := archive.Import(st, src, archive.ImportOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return imgs[0].ID
}

// inventoryStore holds debian:zlib (zlib1g in dpkg's database), app:1 (a
// vendored libz.so.1.2.11 and no package database) and app:2 (its
// vendored libz is 1.3.1).
func inventoryStore(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "store")
	importTestImage(t, root, "debian:zlib", map[string]string{
		"etc/os-release":      "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
		"var/lib/dpkg/status": zlibStatus,
	})
	importTestImage(t, root, "app:1", map[string]string{
		"app/libz.so.1.2.11": "\x7fELF" + strings.Repeat("\x00", 100) + " deflate 1.2.11 Copyright 1995-2017 Jean-loup Gailly and Mark Adler ",
	})
	importTestImage(t, root, "app:2", map[string]string{
		"app/libz.so.1.3.1": "\x7fELF" + strings.Repeat("\x00", 100) + " deflate 1.3.1 Copyright 1995-2024 Jean-loup Gailly and Mark Adler ",
	})
	return root
}

func TestImagePackages(t *testing.T) {
	root := inventoryStore(t)
	out, stderr, err := dockah(t, "--root", root, "image", "packages", "debian:zlib")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TYPE ") || !strings.Contains(lines[2], "zlib1g") ||
		!strings.Contains(lines[2], "1:1.2.13.dfsg-1") || !strings.Contains(lines[2], "/var/lib/dpkg/status") {
		t.Errorf("table:\n%s", out)
	}

	out, stderr, err = dockah(t, "--root", root, "image", "packages", "--format", "json", "app:1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "app:1 has no package database") {
		t.Errorf("no word of the missing package database:\n%s", stderr)
	}
	var inv struct {
		Image    string
		Packages []struct {
			Type, Name, Version, PURL string
			Found                     struct{ How, Path, Layer, Detail string }
		}
	}
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(inv.Packages) != 1 || inv.Packages[0].PURL != "pkg:generic/zlib@1.2.11" || inv.Packages[0].Found.Path != "/app/libz.so.1.2.11" ||
		!strings.HasPrefix(inv.Packages[0].Found.Layer, "sha256:") || !strings.HasPrefix(inv.Image, "sha256:") {
		t.Errorf("json:\n%s", out)
	}
}

// TestImageWhich: every copy in every image, with the containers that
// use each image: the definition that names it, and the container whose
// writable layer was made on it.
func TestImageWhich(t *testing.T) {
	root := inventoryStore(t)
	st, err := rootfs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.MountPlan("app:1", "web", rootfs.MountOptions{}); err != nil {
		t.Fatal(err)
	}
	sys := sysroot(t, map[string]string{"web.toml": "[container]\nimage = \"app:2\"\n"})
	// The cached inventory of an image removed since goes.
	stale := filepath.Join(root, "inventory", strings.Repeat("0", 64)+".json")
	os.MkdirAll(filepath.Dir(stale), 0o700)
	os.WriteFile(stale, []byte("{}"), 0o600)
	out, stderr, err := dockah(t, "--root", root, "image", "which", "--sysroot", sys, "ZLIB")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale cache entry is still there: %v", err)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := []string{
		"localhost/app:1 library libz 1.2.11 /app/libz.so.1.2.11 (version string) web (started on it)",
		"localhost/app:2 library libz 1.3.1 /app/libz.so.1.3.1 (version string) web (defined)",
		"localhost/debian:zlib deb zlib1g 1:1.2.13.dfsg-1 /var/lib/dpkg/status -",
	}
	got := strings.Split(strings.TrimSpace(out), "\n")[1:]
	if len(got) != len(want) {
		t.Fatalf("which zlib:\n%s", out)
	}
	for i, line := range got {
		for _, word := range strings.Fields(want[i]) {
			if !strings.Contains(line, word) {
				t.Errorf("line %d lacks %q:\n%s", i, word, line)
			}
		}
	}
	if !strings.Contains(stderr, "3 copies of ZLIB in 3 images, used by 1 container") {
		t.Errorf("summary:\n%s", stderr)
	}

	out, _, err = dockah(t, "--root", root, "image", "which", "--sysroot", sys, "--format", "json", "libc6")
	if err != nil {
		t.Fatal(err)
	}
	var found []copyFound
	if err := json.Unmarshal([]byte(out), &found); err != nil || len(found) != 1 || found[0].Version != "2.36-9+deb12u4" {
		t.Errorf("which libc6 --format json: %v\n%s", err, out)
	}
	out, _, _ = dockah(t, "--root", root, "image", "which", "--sysroot", sys, "--format", "json", "nothing")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("which of nothing: %s", out)
	}
}

// TestImageAudit: the Debian image is affected by OSV's record and the
// tracker's (one line), the vendored 1.2.11 by the upstream record; an
// image without a package database is unknown, never clean; the exit
// status says which.
func TestImageAudit(t *testing.T) {
	root := inventoryStore(t)
	importTestImage(t, root, "debian:fixed", map[string]string{
		"etc/os-release":      "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
		"var/lib/dpkg/status": strings.ReplaceAll(zlibStatus, "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1+deb12u9"),
	})
	data := "../../inventory/vulndb/testdata/"
	audit := func(args ...string) (string, string, int) {
		t.Helper()
		args = append([]string{"--root", root, "image", "audit", "--sysroot", t.TempDir(), "--db", data + "osv", "--db", data + "debian-tracker.json"}, args...)
		out, stderr, err := dockah(t, args...)
		status := 0
		if err != nil {
			status = exitCode(err)
		}
		return out, stderr, status
	}
	out, stderr, status := audit()
	if status != auditAffected {
		t.Errorf("exit status %d, want %d\n%s", status, auditAffected, stderr)
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	want := []string{
		"CVE-2099-0001 affected libz (library) 1.2.11 - localhost/app:1 -",
		"- unknown (no package database: only what is outside packages",
		"- unknown (no package database) - - localhost/app:2",
		"CVE-2099-0001 affected zlib1g (deb) 1:1.2.13.dfsg-1 1:1.2.13.dfsg-1+deb12u9 localhost/debian:zlib",
	}
	if len(rows) != len(want) {
		t.Fatalf("audit:\n%s", out)
	}
	for i := range want {
		if !strings.HasPrefix(rows[i], want[i]) {
			t.Errorf("row %d: %q, want %q...", i, rows[i], want[i])
		}
	}
	if strings.Contains(out, "debian:fixed") {
		t.Errorf("the fixed image is reported:\n%s", out)
	}

	if _, _, status := audit("debian:fixed"); status != 0 {
		t.Errorf("audit of the fixed image: exit status %d, want 0", status)
	}
	if out, _, status := audit("app:2"); status != auditUnknown || !strings.Contains(out, "unknown") {
		t.Errorf("audit of an image without a package database: exit status %d, want %d\n%s", status, auditUnknown, out)
	}
	out, _, status = audit("--format", "json", "debian:zlib")
	var report auditReport
	if err := json.Unmarshal([]byte(out), &report); err != nil || status != auditAffected {
		t.Fatalf("json: %v, status %d\n%s", err, status, out)
	}
	if len(report.Images) != 1 || report.Images[0].Status != "affected" || len(report.Images[0].Findings) != 1 ||
		strings.Join(report.Images[0].Findings[0].Advisories, ",") != "DEBIAN-CVE-2099-0001,debian-tracker" {
		t.Errorf("json:\n%s", out)
	}
	if _, stderr, status := audit("--db", "/nonexistent"); status != auditFailed || !strings.Contains(stderr, "/nonexistent") {
		t.Errorf("missing data: exit status %d, %s", status, stderr)
	}
	for _, args := range [][]string{{"image", "audit"}, {"image", "audit", "--db", data + "osv", "--no-such-flag"}, {"image", "audit", "--db", data + "osv", "no/such:image"}} {
		_, stderr, err := dockah(t, append([]string{"--root", root}, args...)...)
		if err == nil || exitCode(err) != auditFailed || !strings.Contains(stderr, "dockah: ") {
			t.Errorf("%v: %v, stderr %q; want exit status %d and a message", args, err, stderr, auditFailed)
		}
	}
}
