package layer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/rootfs/internal/fixture"
	"github.com/dockah/dockah/tests/testenv"
	"golang.org/x/sys/unix"
)

func unpackBytes(t *testing.T, data []byte, opts Options) (string, Result, []byte) {
	t.Helper()
	dir := t.TempDir()
	var split bytes.Buffer
	sw, err := NewSplitWriter(&split)
	if err != nil {
		t.Fatal(err)
	}
	opts.Split = sw
	res, err := Unpack(dir, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, res, split.Bytes()
}

func TestUnpackCompressions(t *testing.T) {
	raw := fixture.Tar(fixture.Base()...)
	for _, tc := range []struct {
		name string
		blob []byte
	}{
		{"tar", raw},
		{"gzip", fixture.Gzip(raw)},
		{"zstd", fixture.Zstd(raw)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, res, _ := unpackBytes(t, tc.blob, Options{Name: tc.name})
			if want := fixture.Digest(raw); res.DiffID != want {
				t.Errorf("DiffID = %s, want %s", res.DiffID, want)
			}
			if res.TarSize != int64(len(raw)) {
				t.Errorf("TarSize = %d, want %d", res.TarSize, len(raw))
			}
		})
	}
}

func lstat(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return &st
}

func TestUnpackFileTypes(t *testing.T) {
	dir, _, _ := unpackBytes(t, fixture.Tar(fixture.Base()...), Options{})
	for _, tc := range []struct {
		path string
		mode uint32 // type and permission bits
	}{
		{"bin", unix.S_IFDIR | 0o755},
		{"bin/sh", unix.S_IFREG | 0o755},
		{"bin/su", unix.S_IFREG | 0o4755},
		{"etc/readonly", unix.S_IFREG | 0o444},
		{"lib", unix.S_IFLNK | 0o777},
		{"usr/lib", unix.S_IFDIR | 0o755},
		{"run/fifo", unix.S_IFIFO | 0o600},
		{"tmp", unix.S_IFDIR | 0o1777},
	} {
		if got := lstat(t, filepath.Join(dir, tc.path)).Mode; got != tc.mode {
			t.Errorf("%s: mode %o, want %o", tc.path, got, tc.mode)
		}
	}
	sh, link := lstat(t, filepath.Join(dir, "bin/sh")), lstat(t, filepath.Join(dir, "bin/sh-link"))
	if sh.Ino != link.Ino {
		t.Errorf("bin/sh-link is not a hardlink of bin/sh")
	}
	if got := lstat(t, filepath.Join(dir, "etc/passwd")).Mtim.Sec; got != fixture.Epoch.Unix() {
		t.Errorf("mtime %d, want %d", got, fixture.Epoch.Unix())
	}
	if got := lstat(t, dir).Mtim.Sec; got != fixture.Epoch.Unix() {
		t.Errorf("root mtime %d, want %d", got, fixture.Epoch.Unix())
	}
	if target, _ := os.Readlink(filepath.Join(dir, "abs-link")); target != "/etc/passwd" {
		t.Errorf("abs-link -> %q", target)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(filepath.Join(dir, "etc/attr"), "user.dockah", buf); err != nil {
		t.Logf("user xattrs unsupported here: %v", err)
	} else if string(buf[:n]) != "value" {
		t.Errorf("xattr = %q", buf[:n])
	}
}

func TestUnpackWhiteouts(t *testing.T) {
	dir, _, _ := unpackBytes(t, fixture.Tar(fixture.Top()...), Options{})
	st := lstat(t, filepath.Join(dir, "etc/gone"))
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("etc/gone: mode %o rdev %d, want a 0:0 character device", st.Mode, st.Rdev)
	}
	if _, err := os.Lstat(filepath.Join(dir, "etc/.wh.gone")); err == nil {
		t.Errorf("whiteout file left as is")
	}
	name := "user.overlay.opaque"
	if os.Geteuid() == 0 {
		name = "trusted.overlay.opaque"
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(dir, "etc/old"), name, buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("etc/old %s = %q, %v; want y", name, buf[:n], err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "etc/old/.wh..wh..opq")); err == nil {
		t.Errorf("opaque marker left as a file")
	}
}

func TestUnpackOwnership(t *testing.T) {
	testenv.RequireRoot(t)
	dir, _, _ := unpackBytes(t, fixture.Tar(fixture.Top()...), Options{})
	st := lstat(t, filepath.Join(dir, "home/web/file"))
	if st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("owner %d:%d, want 1000:1000", st.Uid, st.Gid)
	}
	if st.Nlink != 2 {
		t.Errorf("nlink %d, want 2", st.Nlink)
	}
	if st := lstat(t, filepath.Join(dir, "home/web")); st.Mode != unix.S_IFDIR|0o700 || st.Uid != 1000 {
		t.Errorf("home/web mode %o uid %d", st.Mode, st.Uid)
	}
}

func TestUnpackDevicesAndTrustedXattrs(t *testing.T) {
	testenv.RequireRoot(t)
	data := fixture.Tar(
		fixture.Entry{Name: "dev/null", Type: '3', Major: 1, Minor: 3, Mode: 0o666},
		fixture.Entry{Name: "ping", Body: "x", Xattrs: map[string]string{"security.capability": string(capNetRaw), "trusted.dockah": "t"}},
	)
	dir, _, _ := unpackBytes(t, data, Options{AllowDevices: true})
	if st := lstat(t, filepath.Join(dir, "dev/null")); st.Mode != unix.S_IFCHR|0o666 || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("dev/null mode %o rdev %x", st.Mode, st.Rdev)
	}
	buf := make([]byte, 64)
	for _, name := range []string{"security.capability", "trusted.dockah"} {
		if _, err := unix.Lgetxattr(filepath.Join(dir, "ping"), name, buf); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestUnpackSkipsDevices unpacks a debootstrap-like /dev: the nodes and a
// hard link to one are left out and counted, a fifo stays, and the layer
// still rebuilds byte for byte from its tar-split.
func TestUnpackSkipsDevices(t *testing.T) {
	data := fixture.Tar(
		fixture.Entry{Name: "dev/", Type: '5', Mode: 0o755},
		fixture.Entry{Name: "dev/console", Type: '3', Major: 5, Minor: 1, Mode: 0o600},
		fixture.Entry{Name: "dev/null", Type: '3', Major: 1, Minor: 3, Mode: 0o666},
		fixture.Entry{Name: "dev/sda", Type: '4', Major: 8, Minor: 0, Mode: 0o660},
		fixture.Entry{Name: "dev/null2", Type: '1', Link: "dev/null"},
		fixture.Entry{Name: "dev/initctl", Type: '6', Mode: 0o600},
		fixture.Entry{Name: "etc/hostname", Body: "box\n"},
	)
	dir, res, split := unpackBytes(t, data, Options{})
	if res.SkippedDevices != 4 {
		t.Errorf("SkippedDevices = %d, want 4", res.SkippedDevices)
	}
	for _, name := range []string{"dev/console", "dev/null", "dev/sda", "dev/null2"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want it left out", name, err)
		}
	}
	if st := lstat(t, filepath.Join(dir, "dev/initctl")); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("dev/initctl mode %o, want a fifo", st.Mode)
	}
	var rebuilt bytes.Buffer
	if err := Rebuild(&rebuilt, dir, bytes.NewReader(split)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rebuilt.Bytes(), data) {
		t.Errorf("rebuilt layer differs from the original (%d bytes, want %d)", rebuilt.Len(), len(data))
	}
}

// capNetRaw is a VFS_CAP_REVISION_2 security.capability granting
// cap_net_raw (bit 13) permitted and effective.
var capNetRaw = []byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

func TestRebuildIsExact(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []fixture.Entry
	}{
		{"base", fixture.Base()},
		{"top", fixture.Top()},
		{"app", fixture.App()},
		{"big", []fixture.Entry{{Name: "big", Body: string(bytes.Repeat([]byte("0123456789"), 300_000))}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := append(fixture.Tar(tc.entries...), make([]byte, 3000)...) // trailing zeros count too
			dir, res, split := unpackBytes(t, raw, Options{})
			var out bytes.Buffer
			if err := Rebuild(&out, dir, bytes.NewReader(split)); err != nil {
				t.Fatalf("Rebuild: %v", err)
			}
			if !bytes.Equal(out.Bytes(), raw) {
				t.Fatalf("rebuilt tar differs: %d bytes, want %d", out.Len(), len(raw))
			}
			sum := sha256.Sum256(out.Bytes())
			if "sha256:"+hex.EncodeToString(sum[:]) != res.DiffID {
				t.Errorf("digest of the rebuilt tar is not the diff ID")
			}
		})
	}
}

// TestRebuildGNUTar rebuilds a tar that GNU tar wrote, with its own
// headers for long names and link targets, byte for byte.
func TestRebuildGNUTar(t *testing.T) {
	testenv.RequireCommand(t, "tar")
	src := t.TempDir()
	long := filepath.Join(src, strings.Repeat("long-directory-name/", 8))
	if err := os.MkdirAll(long, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(long, strings.Repeat("f", 150)), bytes.Repeat([]byte("data"), 5000), 0o640)
	os.Symlink(strings.Repeat("../", 40)+"target", filepath.Join(src, "long-link"))
	os.WriteFile(filepath.Join(src, "small"), []byte("x"), 0o600)
	os.Link(filepath.Join(src, "small"), filepath.Join(src, "small-link"))
	for _, format := range []string{"gnu", "posix"} {
		t.Run(format, func(t *testing.T) {
			out, err := exec.Command("tar", "-C", src, "--format="+format, "-cf", "-", ".").Output()
			if err != nil {
				t.Fatalf("tar: %v", err)
			}
			dir, res, split := unpackBytes(t, out, Options{})
			var rebuilt bytes.Buffer
			if err := Rebuild(&rebuilt, dir, bytes.NewReader(split)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rebuilt.Bytes(), out) {
				t.Errorf("rebuilt %d bytes differ from GNU tar's %d", rebuilt.Len(), len(out))
			}
			if res.TarSize != int64(len(out)) {
				t.Errorf("TarSize %d, want %d", res.TarSize, len(out))
			}
		})
	}
}
