package registries

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolveShortName(t *testing.T) {
	two := []string{"registry.fedoraproject.org", "docker.io"}
	aliases := map[string]string{"nginx": "quay.io/nginx/nginx-unprivileged", "tools/debug": "quay.io/acme/debug"}
	tests := []struct {
		name    string
		cfg     Config
		in      string
		want    []string
		wantErr string
	}{
		{"alias", Config{Aliases: aliases, UnqualifiedSearchRegistries: two}, "nginx", []string{"quay.io/nginx/nginx-unprivileged"}, ""},
		{"alias keeps the tag", Config{Aliases: aliases}, "nginx:1.27", []string{"quay.io/nginx/nginx-unprivileged:1.27"}, ""},
		{"alias keeps the digest", Config{Aliases: aliases}, "tools/debug@sha256:abc", []string{"quay.io/acme/debug@sha256:abc"}, ""},
		{"alias wins in enforcing mode", Config{Aliases: aliases, UnqualifiedSearchRegistries: two, ShortNameMode: ShortNameEnforcing}, "nginx", []string{"quay.io/nginx/nginx-unprivileged"}, ""},
		{"search registries in order", Config{UnqualifiedSearchRegistries: two}, "fedora:40",
			[]string{"registry.fedoraproject.org/fedora:40", "docker.io/library/fedora:40"}, ""},
		{"docker hub namespace kept", Config{UnqualifiedSearchRegistries: []string{"docker.io"}}, "bitnami/redis", []string{"docker.io/bitnami/redis"}, ""},
		{"permissive tries all", Config{UnqualifiedSearchRegistries: two, ShortNameMode: ShortNamePermissive}, "x",
			[]string{"registry.fedoraproject.org/x", "docker.io/library/x"}, ""},
		{"enforcing with one registry", Config{UnqualifiedSearchRegistries: []string{"quay.io"}, ShortNameMode: ShortNameEnforcing}, "x", []string{"quay.io/x"}, ""},
		{"enforcing and ambiguous", Config{UnqualifiedSearchRegistries: two, ShortNameMode: ShortNameEnforcing}, "x", nil,
			`resolve short name "x": ambiguous in short-name-mode enforcing, could be registry.fedoraproject.org/x, docker.io/library/x (add an alias or use a fully qualified name)`},
		{"nowhere to look", Config{}, "x", nil, `resolve short name "x": no alias and no unqualified-search-registries in registries.conf (use a fully qualified name)`},
		{"qualified name unchanged", Config{Aliases: aliases}, "quay.io/nginx:1", []string{"quay.io/nginx:1"}, ""},
		{"localhost is qualified", Config{}, "localhost/app", []string{"localhost/app"}, ""},
		{"not a name", Config{UnqualifiedSearchRegistries: two}, "Bad Name", nil, `resolve short name "Bad Name": not a repository path with an optional tag or digest`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.ResolveShortName(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ResolveShortName(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSplitTagDigest(t *testing.T) {
	for in, want := range map[string][2]string{
		"img":                        {"img", ""},
		"img:1":                      {"img", ":1"},
		"ns/img@sha256:ab":           {"ns/img", "@sha256:ab"},
		"ns/img:1@sha256:ab":         {"ns/img", ":1@sha256:ab"},
		"host:5000/img":              {"host:5000/img", ""},
		"host:5000/img:2":            {"host:5000/img", ":2"},
		"host:5000/img:2@sha256:abc": {"host:5000/img", ":2@sha256:abc"},
	} {
		repo, suffix := splitTagDigest(in)
		if repo != want[0] || suffix != want[1] {
			t.Errorf("splitTagDigest(%q) = %q, %q; want %q, %q", in, repo, suffix, want[0], want[1])
		}
	}
	if !strings.HasPrefix(normalize("docker.io/alpine:3"), "docker.io/library/") {
		t.Error("normalize forgot library/")
	}
}
