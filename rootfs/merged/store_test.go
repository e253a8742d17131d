package merged

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/rootfs/internal/fixture"
	"github.com/dockah/dockah/rootfs/layer"
	"github.com/dockah/dockah/tests/testenv"
)

// unpacked unpacks layer tars as an import stores them and returns the
// directories, topmost first.
func unpacked(t *testing.T, tars ...[]byte) []string {
	t.Helper()
	var dirs []string
	for i, tr := range tars {
		dir := filepath.Join(t.TempDir(), "diff")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := layer.Unpack(dir, bytes.NewReader(tr), layer.Options{Name: "fixture"}); err != nil {
			t.Fatalf("unpack layer %d: %v", i, err)
		}
		dirs = append([]string{dir}, dirs...)
	}
	return dirs
}

// TestCopyUnpackedLayers reads layers as rootfs/layer stores them: an OCI
// whiteout (.wh.gone) and an opaque marker (.wh..wh..opq) do in the copy
// what they do in the container.
func TestCopyUnpackedLayers(t *testing.T) {
	lower := unpacked(t, fixture.Tar(fixture.Base()...), fixture.Tar(fixture.Top()...), fixture.Tar(fixture.App()...))

	dst, _ := copyView(t, lower, "/etc")
	want := []string{"attr = x", "empty = ", "old dir", "old/b = b",
		"passwd = root:x:0:0::/root:/bin/sh\nweb:x:1000:1000::/:/bin/sh\n", "readonly = ro"}
	if diff := cmp.Diff(want, listing(t, dst)); diff != "" {
		t.Errorf("/etc copied (-want +got):\n%s", diff)
	}
	if got := xattrsOf(t, filepath.Join(dst, "attr")); got["user.dockah"] != "value" {
		t.Errorf("xattrs of attr: %v", got)
	}

	// /lib is a symlink to usr/lib in the image.
	dst, _ = copyView(t, lower, "/lib")
	if got := listing(t, dst); !cmp.Equal(got, []string{"libc.so = libc"}) {
		t.Errorf("/lib copied: %q", got)
	}

	dst, _ = copyView(t, lower, "/home/web")
	file, hard := lstat(t, filepath.Join(dst, "file")), lstat(t, filepath.Join(dst, "hard"))
	if file.Ino != hard.Ino {
		t.Errorf("file and hard are not linked in the copy")
	}
	root := lstat(t, dst)
	if root.Mode&0o7777 != 0o700 {
		t.Errorf("the volume's root has mode %#o, want the image's 0700", root.Mode&0o7777)
	}
	if os.Geteuid() == 0 && (root.Uid != 1000 || file.Uid != 1000 || file.Gid != 1000) {
		t.Errorf("owners: root %d, file %d:%d; want the image's 1000", root.Uid, file.Uid, file.Gid)
	}

	dst, _ = copyView(t, lower, "/")
	if st := lstat(t, filepath.Join(dst, "bin/su")); st.Mode&0o7777 != 0o755 {
		t.Errorf("bin/su: mode %#o, want 0755 without its setuid bit", st.Mode&0o7777)
	}
	if target, err := os.Readlink(filepath.Join(dst, "abs-link")); err != nil || target != "/etc/passwd" {
		t.Errorf("abs-link: %q, %v", target, err)
	}
	if st := lstat(t, filepath.Join(dst, "run/fifo")); st.Mode&0o170000 != 0o010000 {
		t.Errorf("run/fifo: mode %#o, want a fifo", st.Mode)
	}
	if st := lstat(t, filepath.Join(dst, "tmp")); st.Mode&0o7777 != 0o1777 {
		t.Errorf("tmp: mode %#o, want 1777", st.Mode&0o7777)
	}
	if _, err := os.Lstat(filepath.Join(dst, "etc/gone")); !os.IsNotExist(err) {
		t.Errorf("etc/gone, whited out, was copied: %v", err)
	}
}

// TestCopyMatchesOverlayfs compares the copy with the kernel: the same
// layers mounted as overlayfs show, at every path, the names, types,
// owners, modes (but set-id bits), link targets and contents the copy has.
func TestCopyMatchesOverlayfs(t *testing.T) {
	testenv.RequireRoot(t)
	tricky := []fixture.Entry{
		{Name: "etc/old/", Type: tar.TypeDir, Mode: 0o750, UID: 7, GID: 8},
		{Name: "etc/old/c", Body: "c"},
		{Name: "etc/passwd", Type: tar.TypeSymlink, Link: "../usr/lib/libc.so"},
		{Name: "bin/.wh.sh", Body: ""},
		{Name: "bin/sh/", Type: tar.TypeDir}, // a file below becomes a directory
		{Name: "bin/sh/inside", Body: "dir now"},
		{Name: "tmp", Body: "a file over a directory"},
		{Name: "usr/.wh..wh..opq", Body: ""},
		{Name: "usr/new", Body: "new", Mode: 0o600, UID: 3, GID: 4},
		{Name: "app/.wh.server", Body: ""},
	}
	tars := [][]byte{fixture.Tar(fixture.Base()...), fixture.Tar(fixture.Top()...), fixture.Tar(fixture.App()...), fixture.Tar(tricky...)}
	lower := unpacked(t, tars...)
	mnt := t.TempDir()
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lower, ":")); err != nil {
		testenv.Skip(t, "cannot mount overlayfs: "+err.Error())
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })

	for _, p := range []string{"/", "/etc", "/bin", "/usr", "/home", "/lib", "/app", "/etc/old"} {
		dst, stats := copyView(t, lower, p)
		src, err := filepath.EvalSymlinks(filepath.Join(mnt, p)) // the mount is ours: following is fine
		if os.IsNotExist(err) {
			if stats.Found {
				t.Errorf("%s: copied, but overlayfs shows nothing there", p)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(describe(t, src, true), describe(t, dst, false)); diff != "" {
			t.Errorf("%s: overlayfs (-) and the copy (+) differ:\n%s", p, diff)
		}
	}
}

// describe lists a tree with types, owners, modes, link targets and
// contents; kernel strips set-id bits of non-directories, as a copy does.
func describe(t *testing.T, root string, kernel bool) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := lstat(t, p)
		mode := st.Mode
		if kernel && mode&unix.S_IFMT != unix.S_IFDIR {
			mode &^= unix.S_ISUID | unix.S_ISGID
		}
		rel, _ := filepath.Rel(root, p)
		line := fmt.Sprintf("%s %#o %d:%d", rel, mode, st.Uid, st.Gid)
		switch mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case unix.S_IFREG:
			data, _ := os.ReadFile(p)
			line += " = " + string(data)
			if rel != "." {
				line += fmt.Sprintf(" mtime %d", st.Mtim.Sec)
			}
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
