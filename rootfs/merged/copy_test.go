package merged

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/tests/testenv"
)

// TestCopyKeepsOwnersModesTimes: owners, permission bits, the sticky bit,
// a directory's set-group-ID and all times are kept; set-id bits of
// files are not. The volume's root takes the image directory's.
func TestCopyKeepsOwnersModesTimes(t *testing.T) {
	testenv.RequireRoot(t)
	l := layers(t, 1)
	data := mkdir(t, l[0], "data", 0o750)
	seed := writeFile(t, l[0], "data/seed.txt", "seed\n", 0o640)
	setuid := writeFile(t, l[0], "data/bin/su", "#!/bin/sh\n", 0o4755)
	setgid := writeFile(t, l[0], "data/bin/wall", "#!/bin/sh\n", 0o2755)
	shared := mkdir(t, l[0], "data/shared", 0o2775)
	tmp := mkdir(t, l[0], "data/tmp", 0o1777)
	private := mkdir(t, l[0], "data/private", 0o500)
	writeFile(t, l[0], "data/private/inside", "x", 0o400)
	symlink(t, l[0], "data/link", "seed.txt")
	if err := unix.Mkfifo(filepath.Join(data, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	chmod(t, filepath.Join(data, "fifo"), 0o620)
	for _, p := range []string{data, seed, shared, filepath.Join(data, "fifo"), filepath.Join(data, "private/inside")} {
		if err := os.Chown(p, 1000, 1001); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Lchown(filepath.Join(data, "link"), 1002, 1003); err != nil {
		t.Fatal(err)
	}
	// chown clears set-id bits: set them again.
	chmod(t, shared, 0o2775)
	for _, p := range []string{data, seed, setuid, setgid, shared, tmp, private, filepath.Join(data, "fifo"), filepath.Join(data, "bin")} {
		setTimes(t, p)
	}

	dst, _ := copyView(t, l, "/data")
	for _, c := range []struct {
		rel       string
		uid, gid  uint32
		mode      uint32
		checkTime bool
	}{
		{"", 1000, 1001, unix.S_IFDIR | 0o750, true},
		{"seed.txt", 1000, 1001, unix.S_IFREG | 0o640, true},
		{"bin/su", 0, 0, unix.S_IFREG | 0o755, true},
		{"bin/wall", 0, 0, unix.S_IFREG | 0o755, true},
		{"bin", 0, 0, unix.S_IFDIR | 0o755, true},
		{"shared", 1000, 1001, unix.S_IFDIR | 0o2775, true},
		{"tmp", 0, 0, unix.S_IFDIR | 0o1777, true},
		{"private", 0, 0, unix.S_IFDIR | 0o500, true},
		{"private/inside", 1000, 1001, unix.S_IFREG | 0o400, true},
		{"link", 1002, 1003, unix.S_IFLNK | 0o777, true},
		{"fifo", 1000, 1001, unix.S_IFIFO | 0o620, true},
	} {
		st := lstat(t, filepath.Join(dst, c.rel))
		if st.Uid != c.uid || st.Gid != c.gid || st.Mode != c.mode {
			t.Errorf("%q: owner %d:%d mode %#o, want %d:%d %#o", c.rel, st.Uid, st.Gid, st.Mode, c.uid, c.gid, c.mode)
		}
		if want := unix.NsecToTimespec(stamp.UnixNano()); c.checkTime && (st.Mtim != want || st.Atim != want) {
			t.Errorf("%q: times %v %v, want %v", c.rel, st.Atim, st.Mtim, want)
		}
	}
	if data, err := os.ReadFile(filepath.Join(dst, "seed.txt")); err != nil || string(data) != "seed\n" {
		t.Errorf("seed.txt: %q, %v", data, err)
	}
}

// TestCopyXattrs: user.* xattrs and ACLs are kept; file capabilities,
// other security.* and trusted.* xattrs and overlayfs's own are not.
func TestCopyXattrs(t *testing.T) {
	testenv.RequireRoot(t)
	l := layers(t, 1)
	f := writeFile(t, l[0], "data/ping", "binary", 0o755)
	d := mkdir(t, l[0], "data/dir", 0o755)
	// A POSIX ACL as the kernel stores it: version 2, then (tag, perm,
	// id) entries: user::rwx user:1000:r-x group::r-x mask::r-x other::---.
	acl := aclBytes([][3]uint32{{0x01, 7, 0xffffffff}, {0x02, 5, 1000}, {0x04, 5, 0xffffffff}, {0x10, 5, 0xffffffff}, {0x20, 0, 0xffffffff}})
	set := map[string]map[string][]byte{
		f: {
			"user.mime_type":          []byte("text/plain"),
			"security.capability":     capNetRaw(),
			"trusted.note":            []byte("root only"),
			"system.posix_acl_access": acl,
		},
		d: {
			"user.overlay.opaque":      []byte("y"),
			"user.kept":                []byte("dir"),
			"system.posix_acl_default": acl,
		},
	}
	for p, xs := range set {
		for name, value := range xs {
			if err := unix.Lsetxattr(p, name, value, 0); err != nil {
				testenv.Skip(t, "needs "+name+" on the test's temp dir: "+err.Error())
			}
		}
	}
	dst, _ := copyView(t, l, "/data")
	want := map[string]map[string]string{
		"ping": {"user.mime_type": "text/plain", "system.posix_acl_access": string(acl)},
		"dir":  {"user.kept": "dir", "system.posix_acl_default": string(acl)},
	}
	for rel, w := range want {
		got := xattrsOf(t, filepath.Join(dst, rel))
		// The kernel may fold an ACL into the mode and back; compare the
		// names of ACL xattrs, the values of the others.
		for name := range got {
			if strings.HasPrefix(name, "system.posix_acl_") {
				got[name] = w[name]
			}
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("xattrs of %s (-want +got):\n%s", rel, diff)
		}
	}
}

func aclBytes(entries [][3]uint32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(2))
	for _, e := range entries {
		binary.Write(&b, binary.LittleEndian, uint16(e[0]))
		binary.Write(&b, binary.LittleEndian, uint16(e[1]))
		binary.Write(&b, binary.LittleEndian, e[2])
	}
	return b.Bytes()
}

// capNetRaw is a security.capability value (v2) granting CAP_NET_RAW.
func capNetRaw() []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, []uint32{0x02000001, 1 << 13, 0, 0, 0})
	return b.Bytes()
}

func xattrsOf(t *testing.T, p string) map[string]string {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	names, err := listXattrs(fd)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		v, err := getXattr(fd, n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(v)
	}
	return out
}

// TestCopySymlinksNotFollowed: symlinks of the image, wherever they
// point (a host file like /etc/shadow, the host's root, out through
// ".."), are copied as the links they are: nothing they point at is read
// or written, and nothing is written through one.
func TestCopySymlinksNotFollowed(t *testing.T) {
	host := t.TempDir()
	secret := writeFile(t, host, "shadow", "root:secret-hash:19000::::::\n", 0o600)
	l := layers(t, 2)
	links := map[string]string{
		"data/shadow": secret,
		"data/etc":    "/etc",
		"data/root":   "/",
		"data/up":     "../../../../../../../../../" + host,
		"data/self":   ".",
		"data/dir":    host, // a directory of the image below is named like the link
	}
	for rel, target := range links {
		symlink(t, l[1], rel, target)
	}
	// The upper layer puts files under names that are links below: the
	// upper file wins, nothing is written through the link.
	writeFile(t, l[0], "data/dir", "upper file", 0o644)

	dst, st := copyView(t, l, "/data")
	var want []string
	for rel, target := range links {
		if rel != "data/dir" {
			want = append(want, strings.TrimPrefix(rel, "data/")+" -> "+target)
		}
	}
	want = append(want, "dir = upper file")
	got := listing(t, dst)
	if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
		t.Errorf("copied tree (-want +got):\n%s", diff)
	}
	if st.Bytes != int64(len("upper file")) {
		t.Errorf("copied %d bytes, want only the upper file's", st.Bytes)
	}
	if data, _ := os.ReadFile(secret); string(data) != "root:secret-hash:19000::::::\n" {
		t.Errorf("the host file changed: %q", data)
	}
	if entries, _ := os.ReadDir(host); len(entries) != 1 {
		t.Errorf("the host directory has %d entries, want its one", len(entries))
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

// TestCopyHardLinks: names hard linked in the image are linked in the
// copy; a name whose twin is whited out is copied alone.
func TestCopyHardLinks(t *testing.T) {
	l := layers(t, 2)
	a := writeFile(t, l[1], "data/a", "twins", 0o644)
	for _, rel := range []string{"data/sub/b", "data/c"} {
		parentOf(t, filepath.Join(l[1], rel))
		if err := os.Link(a, filepath.Join(l[1], rel)); err != nil {
			t.Fatal(err)
		}
	}
	whiteout(t, l[0], "data/c")
	dst, st := copyView(t, l, "/data")
	sa, sb := lstat(t, filepath.Join(dst, "a")), lstat(t, filepath.Join(dst, "sub/b"))
	if sa.Ino != sb.Ino || sa.Nlink != 2 {
		t.Errorf("a and sub/b: inodes %d and %d, %d links; want one inode with 2 links", sa.Ino, sb.Ino, sa.Nlink)
	}
	if _, err := os.Lstat(filepath.Join(dst, "c")); !os.IsNotExist(err) {
		t.Errorf("the whited-out twin was copied: %v", err)
	}
	if st.Bytes != int64(len("twins")) {
		t.Errorf("copied %d bytes, want the content once", st.Bytes)
	}
}

// TestCopySkipsDevices: device nodes (from an import with
// --allow-devices) stay out of the volume; a whiteout is no device.
func TestCopySkipsDevices(t *testing.T) {
	testenv.RequireRoot(t)
	l := layers(t, 1)
	mkdir(t, l[0], "data", 0o755)
	if err := unix.Mknod(filepath.Join(l[0], "data/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(l[0], "data/sda"), unix.S_IFBLK|0o660, int(unix.Mkdev(8, 0))); err != nil {
		t.Fatal(err)
	}
	writeFile(t, l[0], "data/file", "f", 0o644)
	dst, st := copyView(t, l, "/data")
	if got := listing(t, dst); !cmp.Equal(got, []string{"file = f"}) {
		t.Errorf("copied %q, want the file only", got)
	}
	if st.Skipped != 2 {
		t.Errorf("skipped %d, want 2", st.Skipped)
	}
}

// TestCopyNestedAndBig: a deep tree, a wide directory and a file of some
// size arrive whole.
func TestCopyNestedAndBig(t *testing.T) {
	l := layers(t, 2)
	deep := "data"
	for i := range 60 {
		deep += "/d" + strconv.Itoa(i)
	}
	writeFile(t, l[1], deep+"/leaf", "deep", 0o644)
	for i := range 500 {
		writeFile(t, l[i%2], "data/wide/f"+strconv.Itoa(i), strconv.Itoa(i), 0o644)
	}
	big := make([]byte, 24<<20+12345)
	for i := range big {
		big[i] = byte(i * 7 / 3)
	}
	writeFile(t, l[0], "data/big.bin", string(big), 0o644)

	dst, st := copyView(t, l, "/data")
	got, err := os.ReadFile(filepath.Join(dst, strings.TrimPrefix(deep, "data/"), "leaf"))
	if err != nil || string(got) != "deep" {
		t.Errorf("deep leaf: %q, %v", got, err)
	}
	entries, err := os.ReadDir(filepath.Join(dst, "wide"))
	if err != nil || len(entries) != 500 {
		t.Errorf("wide: %d entries, %v; want 500", len(entries), err)
	}
	if sum(t, filepath.Join(dst, "big.bin")) != sha256.Sum256(big) {
		t.Errorf("big.bin differs")
	}
	if want := 60 + 1 + 1 + 500 + 1; st.Entries != want {
		t.Errorf("%d entries, want %d", st.Entries, want)
	}
}

func sum(t *testing.T, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// TestCopyRootOfImage: the image's root is copied like any directory; an
// image without layers has nothing anywhere.
func TestCopyRootOfImage(t *testing.T) {
	l := layers(t, 1)
	writeFile(t, l[0], "etc/hostname", "image", 0o644)
	dst, _ := copyView(t, l, "/")
	if got := listing(t, dst); !cmp.Equal(got, []string{"etc dir", "etc/hostname = image"}) {
		t.Errorf("copied %q", got)
	}
	for _, p := range []string{"/", "/data"} {
		if dst, st := copyView(t, nil, p); st.Found || len(listing(t, dst)) != 0 {
			t.Errorf("%s of an image without layers: %+v", p, st)
		}
	}
}
