// Package images makes test images for the box tests: static programs of
// this checkout packed into root filesystem tars of any layout, hostile
// ones included (symlinks pointing anywhere), and imported into a box's
// image store through the dockah CLI, as an administrator would.
//
// It only writes files and runs commands; the box does the rest.
package images

import (
	"archive/tar"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/box"
)

// Entry is one entry of a root filesystem tar.
type Entry struct {
	// Name is the path in the image, relative ("bin/app", "dev").
	Name string
	// Exactly one of Source (a host file to copy), Data, Dir and Link
	// gives the content; none means an empty file.
	Source string
	Data   []byte
	Dir    bool
	// Link makes a symlink; its target is stored as is, however hostile.
	Link string
	// Mode is the permission bits; 0 means 0755 (files and directories).
	Mode int64
	// UID and GID own the entry; root by default.
	UID, GID int
}

// Build builds the package pkg of this checkout ("./contrib/hello") as a
// static binary, which runs in an image with nothing else in it, into
// dir, and returns its path. A dir in the box (b.Path("/opt/...")) lives
// as long as the box, and so beyond the test that built it.
func Build(t testing.TB, pkg, dir string) string {
	t.Helper()
	project, err := box.FindProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, pkg)
	cmd.Dir = project
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// WriteTar writes a root filesystem tar of entries at path.
func WriteTar(path string, entries []Entry) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, e := range entries {
		if err := writeEntry(tw, e); err != nil {
			return fmt.Errorf("tar entry %s: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func writeEntry(tw *tar.Writer, e Entry) error {
	hdr := &tar.Header{Name: e.Name, Mode: e.Mode, Typeflag: tar.TypeReg, Uid: e.UID, Gid: e.GID}
	if hdr.Mode == 0 {
		hdr.Mode = 0o755
	}
	data := e.Data
	switch {
	case e.Dir:
		hdr.Typeflag, hdr.Name = tar.TypeDir, strings.TrimSuffix(e.Name, "/")+"/"
	case e.Link != "":
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.Link, 0o777
	case e.Source != "":
		var err error
		if data, err = os.ReadFile(e.Source); err != nil {
			return err
		}
	}
	hdr.Size = int64(len(data))
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// Import writes entries as a root filesystem tar into the box and imports
// it as the image ref with "dockah image import TAR --name REF", adding
// flags (--entrypoint, --cmd...).
func Import(t testing.TB, b *box.Box, ref string, entries []Entry, flags ...string) {
	t.Helper()
	// Not under the box's /tmp, which nspawn hides behind a tmpfs.
	if err := os.MkdirAll(b.Path("/opt"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(b.Path("/opt"), "dockah-image-")
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(dir, "rootfs.tar")
	if err := WriteTar(tarPath, entries); err != nil {
		t.Fatal(err)
	}
	inside := "/opt/" + filepath.Base(dir) + "/rootfs.tar"
	args := append([]string{"dockah", "image", "import", inside, "--name", ref}, flags...)
	if out, err := b.Run(args...); err != nil {
		t.Fatalf("import image %s: %v\n%s", ref, err, out)
	}
}

// Busybox returns the entries of a busybox image: /bin/busybox from the
// host (Debian's busybox-static) and a link per applet, plus a passwd and
// group with root and app (uid 1000).
func Busybox(t testing.TB, applets ...string) []Entry {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("a busybox image needs busybox on the host (Debian package busybox-static): %v", err)
	}
	entries := []Entry{
		{Name: "bin", Dir: true},
		{Name: "bin/busybox", Source: busybox},
		{Name: "etc", Dir: true},
		{Name: "etc/passwd", Data: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"), Mode: 0o644},
		{Name: "etc/group", Data: []byte("root:x:0:\napp:x:1000:\n"), Mode: 0o644},
	}
	for _, a := range applets {
		entries = append(entries, Entry{Name: "bin/" + a, Link: "busybox"})
	}
	return entries
}
