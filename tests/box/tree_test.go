package box

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestTreeKey checks that the cache key follows the recipe: another
// package list or mirror is another tree, the same recipe the same one.
func TestTreeKey(t *testing.T) {
	base := debian13.key()
	if again := debian13.key(); again != base {
		t.Fatalf("key not stable: %s then %s", base, again)
	}
	more := debian13
	more.packages = append(append([]string(nil), debian13.packages...), "strace")
	if more.key() == base {
		t.Error("adding a package keeps the key")
	}
	t.Setenv("DOCKAH_DEBIAN_MIRROR", "http://mirror.invalid/debian")
	if debian13.key() == base {
		t.Error("another mirror keeps the key")
	}
}

func TestLowerDirsParse(t *testing.T) {
	line := "1 2 0:3 / /var/tmp/dockah-box/box-1/root rw,relatime - overlay overlay rw,lowerdir=/var/cache/dockah-boxes/debian13-abc:/other,upperdir=/u,workdir=/w"
	got := parseLowerDirs(line)
	if !got["/var/cache/dockah-boxes/debian13-abc"] || !got["/other"] || len(got) != 2 {
		t.Errorf("got %v", got)
	}
	if got := parseLowerDirs("1 2 0:3 / / rw - ext4 /dev/vda rw"); len(got) != 0 {
		t.Errorf("an ext4 line gave %v", got)
	}
}

// TestPruneTrees checks that building a tree removes the trees of other
// recipes and what interrupted builds left, and nothing else.
func TestPruneTrees(t *testing.T) {
	cache := t.TempDir()
	for _, d := range []string{"debian13-new", "debian13-old", ".debian13-new.tmp", "debian14-other"} {
		if err := os.MkdirAll(filepath.Join(cache, d, "usr"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cache, "lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := pruneTrees(cache, "debian13", filepath.Join(cache, "debian13-new")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{"debian13-new", "debian14-other", "lock"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}
