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
