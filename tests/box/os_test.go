package box

import (
	"strings"
	"testing"
)

func TestOSFromEnv(t *testing.T) {
	for _, c := range []struct {
		env  string
		want OS
		err  bool
	}{
		{"", Host, false},
		{"host", Host, false},
		{"debian13", Debian13, false},
		{"trixie", "", true},
	} {
		t.Setenv(OSEnv, c.env)
		got, err := OSFromEnv()
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%s=%q: got %q, %v; want %q, error %v", OSEnv, c.env, got, err, c.want, c.err)
		}
	}
}

func TestOSSupports(t *testing.T) {
	if err := Host.supports(Hybrid); err != nil {
		t.Errorf("the host's tree under hybrid: %v", err)
	}
	if err := Debian13.supports(Unified); err != nil {
		t.Errorf("debian13 under unified: %v", err)
	}
	if err := Debian13.supports(Hybrid); err == nil || !strings.Contains(err.Error(), "cgroup v1") {
		t.Errorf("debian13 under hybrid: got %v, want an error naming cgroup v1", err)
	}
}

func TestParseSystemdVersion(t *testing.T) {
	for out, want := range map[string]int{
		"systemd 252 (252.39-1~deb12u1)\n+PAM +AUDIT\n": 252,
		"systemd 257 (257.13-1~deb13u1)\n+PAM\n":        257,
	} {
		if got, err := parseSystemdVersion(out); err != nil || got != want {
			t.Errorf("%q: got %d, %v; want %d", out, got, err, want)
		}
	}
	if _, err := parseSystemdVersion("bash: systemctl: not found\n"); err == nil {
		t.Error("no error for output that is no version")
	}
}

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
