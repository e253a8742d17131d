package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestNewLabels(t *testing.T) {
	tests := []struct {
		typ, level    string
		process, file string
		err           string
	}{
		{"", "s0:c1,c2", "system_u:system_r:container_t:s0:c1,c2", "system_u:object_r:container_file_t:s0:c1,c2", ""},
		{"spc_t", "s0", "system_u:system_r:spc_t:s0", "system_u:object_r:container_file_t:s0", ""},
		{"container_init_t", "s0-s0:c0.c1023", "system_u:system_r:container_init_t:s0-s0:c0.c1023", "system_u:object_r:container_file_t:s0-s0:c0.c1023", ""},
		{"", "s0:c0.c3,c7,c1023", "system_u:system_r:container_t:s0:c0.c3,c7,c1023", "system_u:object_r:container_file_t:s0:c0.c3,c7,c1023", ""},
		{"", "s15:c5", "system_u:system_r:container_t:s15:c5", "system_u:object_r:container_file_t:s15:c5", ""},
		{"bad:type", "s0", "", "", `selinux_type "bad:type"`},
		{"", "", "", "", `selinux_level "": bad sensitivity`},
		{"", "s16", "", "", "bad sensitivity"},
		{"", "s01", "", "", "bad sensitivity"},
		{"", "s0:c1024", "", "", `bad category "c1024"`},
		{"", "s0:c5.c2", "", "", "not ascending"},
		{"", "s0:c1,", "", "", `bad category ""`},
		{"", "s0:c-1", "", "", "bad category"},
		{"", "s0:c1-s0", "", "", "does not dominate"},
		{"", "s1-s0", "", "", "does not dominate"},
		{"", "s0-", "", "", "bad sensitivity"},
		{"", "s0:c1,c2:c3", "", "", "bad category"},
	}
	for _, tc := range tests {
		l, err := NewLabels(tc.typ, tc.level)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("NewLabels(%q, %q): error %v, want %q", tc.typ, tc.level, err, tc.err)
			}
			continue
		}
		if err != nil || l.Process != tc.process || l.File != tc.file || l.Level != tc.level {
			t.Errorf("NewLabels(%q, %q) = %+v, %v", tc.typ, tc.level, l, err)
		}
	}
}

func TestVolumeLabel(t *testing.T) {
	l, err := NewLabels("", "s0:c7,c300")
	if err != nil {
		t.Fatal(err)
	}
	for relabel, want := range map[string]string{
		"":        "",
		"none":    "",
		"private": "system_u:object_r:container_file_t:s0:c7,c300",
		"shared":  "system_u:object_r:container_file_t:s0",
	} {
		got, err := l.Volume(relabel)
		if err != nil || got != want {
			t.Errorf("Volume(%q) = %q, %v; want %q", relabel, got, err, want)
		}
	}
	if _, err := l.Volume("Z"); err == nil || !strings.Contains(err.Error(), "accepted: none, private, shared") {
		t.Errorf("Volume(Z): %v", err)
	}
}

// fakeHost is a host with SELinux as the test describes it.
type fakeHost struct {
	enabled, enforcing bool
	known              []string // types the policy has
}

func (h fakeHost) Enabled() bool   { return h.enabled }
func (h fakeHost) Enforcing() bool { return h.enforcing }
func (h fakeHost) CheckContext(label string) error {
	for _, k := range h.known {
		if strings.Contains(label, ":"+k+":") {
			return nil
		}
	}
	return errors.New("invalid argument")
}

func TestCheckSELinux(t *testing.T) {
	full := []string{"container_t", "container_file_t", "spc_t"}
	tests := []struct {
		name     string
		host     fakeHost
		cfg      SELinuxConfig
		want     error // errors.Is target, nil for success
		contains string
	}{
		{"disabled", fakeHost{}, SELinuxConfig{}, ErrNotSupported, "disabled"},
		{"enforcing with policy", fakeHost{true, true, full}, SELinuxConfig{}, nil, ""},
		{"permissive with policy", fakeHost{true, false, full}, SELinuxConfig{}, nil, ""},
		{"enforcing without policy", fakeHost{true, true, nil}, SELinuxConfig{}, ErrNoContainerPolicy, "system_u:system_r:container_t:s0"},
		{"enforcing without file type", fakeHost{true, true, []string{"container_t"}}, SELinuxConfig{}, ErrNoContainerPolicy, "container_file_t"},
		{"permissive without policy", fakeHost{true, false, nil}, SELinuxConfig{}, ErrNotSupported, "permissive"},
		{"enforcing, custom type missing", fakeHost{true, true, full}, SELinuxConfig{Type: "my_t"}, ErrNoContainerPolicy, "my_t"},
		{"enforcing, custom type present", fakeHost{true, true, append(full, "my_t")}, SELinuxConfig{Type: "my_t"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSELinux(tc.host, tc.cfg)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error %v, want %v containing %q", err, tc.want, tc.contains)
			}
		})
	}
	if err := CheckSELinux(fakeHost{true, true, full}, SELinuxConfig{Type: "a b"}); err == nil {
		t.Error("bad type accepted")
	}
}

// TestHostSELinux asks the real kernel. This one has no SELinux, so the
// answer must be ErrNotSupported; on an SELinux host the answer depends
// on its policy and only has to be consistent.
func TestHostSELinux(t *testing.T) {
	h := HostSELinux()
	err := CheckSELinux(h, SELinuxConfig{})
	if !h.Enabled() && !errors.Is(err, ErrNotSupported) {
		t.Fatalf("SELinux off, CheckSELinux = %v", err)
	}
	if h.Enabled() && err != nil && !errors.Is(err, ErrNotSupported) && !errors.Is(err, ErrNoContainerPolicy) {
		t.Fatalf("unexpected error class: %v", err)
	}
}

func TestSELinuxLabels(t *testing.T) {
	reg := newTestRegistry(t)
	a, err := SELinuxLabels(reg, "web", SELinuxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Process, "system_u:system_r:container_t:s0:c") || !strings.HasSuffix(a.File, a.Level) {
		t.Errorf("labels %+v", a)
	}
	again, err := SELinuxLabels(reg, "web", SELinuxConfig{})
	if err != nil || again != a {
		t.Errorf("restart changed the labels: %+v, %v", again, err)
	}
	b, err := SELinuxLabels(reg, "db", SELinuxConfig{Type: "spc_t", Level: "s0:c900,c901"})
	if err != nil || b.Process != "system_u:system_r:spc_t:s0:c900,c901" {
		t.Errorf("explicit level: %+v, %v", b, err)
	}
	if lvl, ok, err := reg.Lookup("db"); err != nil || !ok || lvl != "s0:c900,c901" {
		t.Errorf("explicit level not recorded: %q %v %v", lvl, ok, err)
	}
	if _, err := SELinuxLabels(reg, "bad", SELinuxConfig{Type: "x:y"}); err == nil {
		t.Error("bad type accepted")
	}
	if _, ok, _ := reg.Lookup("bad"); ok {
		t.Error("a rejected definition took a level")
	}
}
