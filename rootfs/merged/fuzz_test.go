package merged

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzResolve checks the resolution of a volume's target against the
// kernel's: a tree with two symlinks of any target is resolved by resolve
// and by openat2(RESOLVE_IN_ROOT), which activation mounts the volume
// with, and both must find the same directory, or both none. Whatever the
// links say, resolve never names anything outside the tree.
func FuzzResolve(f *testing.F) {
	for _, seed := range [][3]string{
		{"a/l1", "../c", "/a"},
		{"l2/d", "/c", "x"},
		{"a/l1/../b", "/../../..", "../a/l1"},
		{"l2/l2", ".", "l2"},
		{"a/l1/x", "l1", "a/b/../../c/d"},
		{"l2", "/", "a/l1/../../../../c"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, p, link1, link2 string) {
		for _, s := range []string{p, link1, link2} {
			if len(s) > 512 || strings.IndexByte(s, 0) >= 0 {
				return
			}
		}
		if link1 == "" || link2 == "" {
			return // the kernel refuses empty symlinks
		}
		root := t.TempDir()
		for _, d := range []string{"a/b", "c/d"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(link1, filepath.Join(root, "a/l1")); err != nil {
			return
		}
		if err := os.Symlink(link2, filepath.Join(root, "l2")); err != nil {
			return
		}
		v, err := Open([]string{root})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		d, ok, err := v.resolve("/" + p)

		if ok {
			clean := filepath.Clean("/" + d.path)
			if d.path != strings.TrimPrefix(clean, "/") || strings.HasPrefix(d.path, "..") {
				t.Fatalf("resolve(%q) = %q: not a clean path inside the tree", p, d.path)
			}
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(root, d.path), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
				t.Fatalf("resolve(%q) = %q: not a directory of the tree (%v)", p, d.path, err)
			}
		}

		want, kerr := kernelResolve(t, root, "/"+p)
		switch {
		case kerr == nil:
			if err != nil || !ok || d.path != want {
				t.Errorf("resolve(%q) with a/l1 -> %q, l2 -> %q: %q ok=%v err=%v; the kernel finds %q", p, link1, link2, d.path, ok, err, want)
			}
		case errors.Is(kerr, unix.ENOENT) || errors.Is(kerr, unix.ENOTDIR):
			if err != nil || ok {
				t.Errorf("resolve(%q) with a/l1 -> %q, l2 -> %q: %q ok=%v err=%v; the kernel: %v", p, link1, link2, d.path, ok, err, kerr)
			}
		case errors.Is(kerr, unix.ELOOP):
			if !errors.Is(err, errLoop) {
				t.Errorf("resolve(%q) with a/l1 -> %q, l2 -> %q: %q ok=%v err=%v; the kernel: %v", p, link1, link2, d.path, ok, err, kerr)
			}
		}
	})
}

// kernelResolve resolves p in root as activation does and returns the
// directory found, relative to root.
func kernelResolve(t *testing.T, root, p string) (string, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(rfd, p, &how)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	got, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(root, got)
	if err != nil {
		t.Fatal(err)
	}
	if rel == "." {
		rel = ""
	}
	return rel, nil
}
