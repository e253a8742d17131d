package auth

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFiles(t *testing.T) {
	tests := []struct {
		name  string
		env   Env
		want  []File
		write string
	}{{
		name:  "authfile alone",
		env:   Env{AuthFile: "/etc/dockah/auth.json", XDGRuntimeDir: "/run/user/0", Home: "/root"},
		want:  []File{{Path: "/etc/dockah/auth.json"}},
		write: "/etc/dockah/auth.json",
	}, {
		name: "a login session",
		env:  Env{XDGRuntimeDir: "/run/user/1000", Home: "/home/alice", UID: 1000},
		want: []File{
			{Path: "/run/user/1000/containers/auth.json"},
			{Path: "/home/alice/.config/containers/auth.json"},
			{Path: "/home/alice/.docker/config.json"},
			{Path: "/home/alice/.dockercfg", Legacy: true},
		},
		write: "/run/user/1000/containers/auth.json",
	}, {
		name: "root in a systemd unit",
		env:  Env{Home: "/root"},
		want: []File{
			{Path: "/run/containers/0/auth.json"},
			{Path: "/root/.config/containers/auth.json"},
			{Path: "/root/.docker/config.json"},
			{Path: "/root/.dockercfg", Legacy: true},
		},
		write: "/run/containers/0/auth.json",
	}, {
		name: "XDG_CONFIG_HOME and DOCKER_CONFIG",
		env:  Env{XDGConfigHome: "/cfg", DockerConfig: "/dock", Home: "/root"},
		want: []File{
			{Path: "/run/containers/0/auth.json"},
			{Path: "/cfg/containers/auth.json"},
			{Path: "/dock/config.json"},
			{Path: "/root/.dockercfg", Legacy: true},
		},
		write: "/run/containers/0/auth.json",
	}, {
		name:  "no home directory",
		env:   Env{UID: 990},
		want:  []File{{Path: "/run/containers/990/auth.json"}},
		write: "/run/containers/990/auth.json",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.env.Files()); diff != "" {
				t.Errorf("Files (-want +got):\n%s", diff)
			}
			if got := tt.env.WriteFile(); got != tt.write {
				t.Errorf("WriteFile = %q, want %q", got, tt.write)
			}
		})
	}
}

func TestHomeDir(t *testing.T) {
	tests := []struct {
		envHome, passwdHome string
		uid                 int
		want                string
	}{
		{"/home/me", "/home/passwd", 1000, "/home/me"},
		{"", "/home/passwd", 1000, "/home/passwd"},
		{"", "/var/lib/root", 0, "/var/lib/root"},
		{"", "", 0, "/root"},
		{"", "", 1000, ""},
	}
	for _, tt := range tests {
		if got := homeDir(tt.envHome, tt.passwdHome, tt.uid); got != tt.want {
			t.Errorf("homeDir(%q, %q, %d) = %q, want %q", tt.envHome, tt.passwdHome, tt.uid, got, tt.want)
		}
	}
}

func TestOSEnv(t *testing.T) {
	t.Setenv("REGISTRY_AUTH_FILE", "/from/env.json")
	t.Setenv("HOME", "/home/test")
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got := OSEnv("").AuthFile; got != "/from/env.json" {
		t.Errorf("AuthFile %q, want $REGISTRY_AUTH_FILE", got)
	}
	if got := OSEnv("/flag.json").AuthFile; got != "/flag.json" {
		t.Errorf("AuthFile %q, want the flag's", got)
	}
	if env := OSEnv(""); env.Home != "/home/test" || env.XDGRuntimeDir != "" {
		t.Errorf("got %+v", env)
	}
}
