package merged

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/tests/testenv"
)

// layers makes n empty layer directories, topmost first.
func layers(t *testing.T, n int) []string {
	t.Helper()
	base := t.TempDir()
	var out []string
	for i := range n {
		d := filepath.Join(base, "layer"+string(rune('0'+i)))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// stamp is the time every fixture file gets, to tell kept times from
// the time of the copy.
var stamp = time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)

func parentOf(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, layer, rel, data string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(layer, rel)
	parentOf(t, p)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	chmod(t, p, mode)
	setTimes(t, p)
	return p
}

func mkdir(t *testing.T, layer, rel string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(layer, rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	chmod(t, p, mode)
	return p
}

func symlink(t *testing.T, layer, rel, target string) {
	t.Helper()
	p := filepath.Join(layer, rel)
	parentOf(t, p)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	ts := []unix.Timespec{unix.NsecToTimespec(stamp.UnixNano()), unix.NsecToTimespec(stamp.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatal(err)
	}
}

// whiteout stores a deletion as rootfs/layer does: a 0:0 character
// device, which any user may make since Linux 5.8.
func whiteout(t *testing.T, layer, rel string) {
	t.Helper()
	p := filepath.Join(layer, rel)
	parentOf(t, p)
	if err := unix.Mknod(p, unix.S_IFCHR|0o600, 0); err != nil {
		testenv.Skip(t, "needs whiteout devices (mknod 0:0, root or Linux 5.8+): "+err.Error())
	}
}

// opaque marks a directory opaque as rootfs/layer does: trusted.* as
// root, user.* without.
func opaque(t *testing.T, layer, rel string) {
	t.Helper()
	p := mkdir(t, layer, rel, 0o755)
	name := "user.overlay.opaque"
	if os.Geteuid() == 0 {
		name = "trusted.overlay.opaque"
	}
	if err := unix.Setxattr(p, name, []byte("y"), 0); err != nil {
		testenv.Skip(t, "needs xattrs on the test's temp dir: "+err.Error())
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := unix.Chmod(p, uint32(mode)); err != nil {
		t.Fatal(err)
	}
}

func setTimes(t *testing.T, p string) {
	t.Helper()
	if err := os.Chtimes(p, stamp, stamp); err != nil {
		t.Fatal(err)
	}
}

// copyView copies the image path p of lower into a new directory and
// returns it with the stats.
func copyView(t *testing.T, lower []string, p string) (string, Stats) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "volume")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	v, err := Open(lower)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	st, err := v.Copy(p, dst)
	if err != nil {
		t.Fatalf("Copy(%q): %v", p, err)
	}
	return dst, st
}

// listing describes a tree, one line a path: "path type", with the
// content of files and the target of links, sorted.
func listing(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		line := rel + " "
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += "-> " + target
		case fi.IsDir():
			line += "dir"
		case fi.Mode()&os.ModeNamedPipe != 0:
			line += "fifo"
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += "= " + string(data)
		default:
			line += "other"
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}
