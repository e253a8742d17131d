package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// rootEnv is root in a systemd unit: the files below, in this order.
var rootEnv = Env{Home: "/root"}

const (
	primaryFile = "run/containers/0/auth.json"
	xdgFile     = "root/.config/containers/auth.json"
	dockerFile  = "root/.docker/config.json"
	legacyFile  = "root/.dockercfg"
)

func keychainFor(files fstest.MapFS, r Runner) *Keychain {
	return &Keychain{Files: rootEnv.Files(), FS: files, Helpers: r}
}

func TestLookup(t *testing.T) {
	files := fstest.MapFS{
		primaryFile: {Data: []byte(`{"auths": {
			"quay.io": {"auth": "` + basic("primary", "p1") + `"},
			"reg.example/team": {"auth": "` + basic("team", "p2") + `"},
			"reg.example/team/app": {"auth": "` + basic("app", "p3") + `"},
			"empty.example": {}
		}}`)},
		xdgFile: {Data: []byte(`{"auths": {
			"quay.io": {"auth": "` + basic("shadowed", "x") + `"},
			"ghcr.io": {"auth": "` + basic("xdg", "p4") + `"},
			"reg.example/team/other": {"auth": "` + basic("later-but-specific", "x") + `"},
			"empty.example": {"username": "fields", "password": "p5"}
		}}`)},
		dockerFile: {Data: []byte(`{
			"auths": {
				"https://index.docker.io/v1/": {"auth": "` + basic("hub", "p6") + `"},
				"http://localhost:5000/v2/": {"auth": "` + basic("local", "p7") + `"},
				"token.example": {"auth": "` + basic("<token>", "") + `", "identitytoken": "refresh-me"},
				"bearer.example": {"registrytoken": "bearer"}
			},
			"experimental": "enabled"
		}`)},
		legacyFile: {Data: []byte(`{"https://legacy.example/v1/": {"auth": "` + basic("old", "p8") + `", "email": "a@b"}}`)},
	}
	k := keychainFor(files, &fakeRunner{})
	tests := []struct {
		repo string
		want Credential
	}{
		{"quay.io/ns/img", Credential{Username: "primary", Password: "p1"}},               // first file wins
		{"quay.io", Credential{Username: "primary", Password: "p1"}},                      // a registry
		{"reg.example/team/app", Credential{Username: "app", Password: "p3"}},             // the repository key
		{"reg.example/team/app/sub", Credential{Username: "app", Password: "p3"}},         // the nearest namespace
		{"reg.example/team/other", Credential{Username: "team", Password: "p2"}},          // a namespace key in an earlier file beats an exact key in a later one
		{"ghcr.io/x/y", Credential{Username: "xdg", Password: "p4"}},                      // second file
		{"empty.example/x", Credential{Username: "fields", Password: "p5"}},               // an empty entry is no credential
		{"docker.io/library/alpine", Credential{Username: "hub", Password: "p6"}},         // Docker's legacy key for the hub
		{"index.docker.io/library/alpine", Credential{Username: "hub", Password: "p6"}},   // as go-containerregistry names it
		{"docker.io/alpine:3", Credential{Username: "hub", Password: "p6"}},               // short form, with a tag
		{"localhost:5000/x", Credential{Username: "local", Password: "p7"}},               // a URL key with a port
		{"token.example/x", Credential{Username: "<token>", IdentityToken: "refresh-me"}}, // identity token
		{"bearer.example/x", Credential{RegistryToken: "bearer"}},
		{"legacy.example/x", Credential{Username: "old", Password: "p8"}}, // ~/.dockercfg
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			got, err := k.Lookup(context.Background(), tt.repo)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%q) (-want +got):\n%s", tt.repo, diff)
			}
		})
	}
	if _, err := k.Lookup(context.Background(), "nowhere.example/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup of an unknown registry: %v, want ErrNotFound", err)
	}
}

func TestLookupPrefersNormalizedKey(t *testing.T) {
	files := fstest.MapFS{primaryFile: {Data: []byte(`{"auths": {
		"https://index.docker.io/v1/": {"auth": "` + basic("docker", "old") + `"},
		"docker.io": {"auth": "` + basic("podman", "new") + `"},
		"registry-1.docker.io": {"auth": "` + basic("other", "x") + `"}
	}}`)}}
	got, err := keychainFor(files, nil).Lookup(context.Background(), "docker.io/library/x")
	if err != nil || got.Username != "podman" {
		t.Errorf("got %+v, %v; want podman's docker.io entry", got, err)
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		name, file, data, want string
	}{
		{"malformed base64", primaryFile, `{"auths": {"quay.io": {"auth": "not*base64"}}}`,
			`/run/containers/0/auth.json: auths."quay.io": auth: not base64 of user:password: illegal base64 data at input byte 3`},
		{"no colon", xdgFile, `{"auths": {"quay.io/ns": {"auth": "dXNlcg=="}}}`,
			`/root/.config/containers/auth.json: auths."quay.io/ns": auth: the decoded value has no ':' between user and password`},
		{"syntax", dockerFile, "{\n  \"auths\": {\n    \"quay.io\": {,}\n  }\n}",
			`/root/.docker/config.json:3: invalid character ',' looking for beginning of object key string`},
		{"wrong type", primaryFile, "{\"auths\": {\n\"quay.io\": \"secret\"}}",
			`/run/containers/0/auth.json:2: auths: want an object, found string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keychainFor(fstest.MapFS{tt.file: {Data: []byte(tt.data)}}, nil)
			_, err := k.Lookup(context.Background(), "quay.io/ns/img")
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n  %v\nwant\n  %s", err, tt.want)
			}
		})
	}
	// A bad entry for another registry does not stop this one.
	k := keychainFor(fstest.MapFS{primaryFile: {Data: []byte(`{"auths": {"bad.example": {"auth": "***"}, "quay.io": {"auth": "` + basic("u", "p") + `"}}}`)}}, nil)
	if _, err := k.Lookup(context.Background(), "quay.io/x"); err != nil {
		t.Errorf("a malformed entry of another registry: %v", err)
	}
}

func TestLookupHelperRules(t *testing.T) {
	r := &fakeRunner{creds: map[string]map[string]helperCreds{
		"pass":    {"reg.example": {Username: "from-pass", Secret: "s1"}},
		"desktop": {"https://index.docker.io/v1/": {Username: "<token>", Secret: "hub-token"}},
	}}
	files := fstest.MapFS{
		primaryFile: {Data: []byte(`{
			"auths": {"reg.example": {"auth": "` + basic("ignored", "x") + `"}, "empty.example": {}},
			"credHelpers": {"reg.example": "pass", "https://nothing.example": "pass"}
		}`)},
		dockerFile: {Data: []byte(`{
			"auths": {"nothing.example": {"auth": "` + basic("docker-file", "p") + `"}, "https://index.docker.io/v1/": {}},
			"credsStore": "desktop"
		}`)},
	}
	k := keychainFor(files, r)
	tests := []struct {
		repo  string
		want  Credential
		calls []string
	}{
		{"reg.example/x", Credential{Username: "from-pass", Password: "s1"}, []string{"pass get reg.example"}},
		// The helper has nothing: the file is done, the next one answers.
		{"nothing.example/x", Credential{Username: "docker-file", Password: "p"}, []string{"pass get nothing.example"}},
		// credsStore, asked under podman's then Docker's name for the hub.
		{"docker.io/library/x", Credential{IdentityToken: "hub-token"}, []string{"desktop get docker.io", "desktop get https://index.docker.io/v1/"}},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			r.calls = nil
			got, err := k.Lookup(context.Background(), tt.repo)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%q) (-want +got):\n%s", tt.repo, diff)
			}
			if diff := cmp.Diff(tt.calls, r.calls); diff != "" {
				t.Errorf("helper calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	files := fstest.MapFS{primaryFile: {Data: []byte(`{"auths": {
		"docker.io": {"auth": "` + basic("hub", "secret") + `"},
		"quay.io/acme": {"identitytoken": "tok"}
	}}`)}}
	k := keychainFor(files, nil)
	tests := []struct {
		resource authn.Resource
		want     *authn.AuthConfig
	}{
		{mustRepo(t, "alpine"), &authn.AuthConfig{Username: "hub", Password: "secret"}},
		{mustRepo(t, "quay.io/acme/tool"), &authn.AuthConfig{IdentityToken: "tok"}},
		{mustRegistry(t, "index.docker.io"), &authn.AuthConfig{Username: "hub", Password: "secret"}},
		{mustRepo(t, "quay.io/other/tool"), &authn.AuthConfig{}}, // anonymous
		{mustRepo(t, "ghcr.io/x/y"), &authn.AuthConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.resource.String(), func(t *testing.T) {
			a, err := k.Resolve(tt.resource)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Username == "" && tt.want.IdentityToken == "" && a != authn.Anonymous {
				t.Errorf("got %v, want authn.Anonymous", a)
			}
			got, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Authorization (-want +got):\n%s", diff)
			}
		})
	}
	var _ authn.Keychain = k
	var _ authn.ContextKeychain = k
}

func TestResolveError(t *testing.T) {
	k := keychainFor(fstest.MapFS{primaryFile: {Data: []byte(`{"auths": `)}}, nil)
	_, err := k.Resolve(mustRepo(t, "quay.io/x"))
	if err == nil || !strings.HasPrefix(err.Error(), "/run/containers/0/auth.json:1: ") {
		t.Errorf("got %v, want an error naming the file", err)
	}
}

func mustRepo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRegistry(t *testing.T, s string) name.Registry {
	t.Helper()
	r, err := name.NewRegistry(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNormalizeKey(t *testing.T) {
	tests := []struct {
		key    string
		legacy bool
		want   string
	}{
		{"quay.io", false, "quay.io"},
		{"quay.io/ns/repo", false, "quay.io/ns/repo"},
		{"https://index.docker.io/v1/", false, "docker.io"},
		{"HTTPS://Registry-1.Docker.IO/v2/", false, "docker.io"},
		{"http://localhost:5000/v2/", false, "localhost:5000"},
		{"https://quay.io/some/path", false, "quay.io"},
		{"registry.example/v2/", false, "registry.example"},
		{"registry.example/ns/", false, "registry.example/ns"},
		{"legacy.example/ns", true, "legacy.example"},
		{"index.docker.io/library/x", false, "docker.io/library/x"},
	}
	for _, tt := range tests {
		if got := normalizeKey(tt.key, tt.legacy); got != tt.want {
			t.Errorf("normalizeKey(%q, %v) = %q, want %q", tt.key, tt.legacy, got, tt.want)
		}
	}
	for in, want := range map[string]string{
		"docker.io/alpine":             "docker.io/library/alpine",
		"index.docker.io/library/x:1":  "docker.io/library/x",
		"quay.io/a/b@sha256:0":         "quay.io/a/b",
		"reg.example:5000":             "reg.example:5000",
		"reg.example:5000/x/y:1":       "reg.example:5000/x/y",
		"registry-1.docker.io/user/im": "docker.io/user/im",
	} {
		if got := normalizeRepo(in); got != want {
			t.Errorf("normalizeRepo(%q) = %q, want %q", in, got, want)
		}
	}
}
