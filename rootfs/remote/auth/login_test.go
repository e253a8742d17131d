package auth

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readJSON decodes a file into generic values, for comparisons that do
// not depend on formatting.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	return v
}

func TestLoginCreatesFile(t *testing.T) {
	runtime := filepath.Join(t.TempDir(), "run")
	env := Env{XDGRuntimeDir: runtime}
	where, err := Login(env, "https://index.docker.io/v1/", "alice", "pa:ss")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(runtime, "containers", "auth.json")
	if where != file {
		t.Errorf("Login says %q, want %q", where, file)
	}
	for path, mode := range map[string]os.FileMode{file: 0o600, filepath.Dir(file): 0o700 | os.ModeDir} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
		}
	}
	want := map[string]any{"auths": map[string]any{"docker.io": map[string]any{"auth": basic("alice", "pa:ss")}}}
	if diff := cmp.Diff(want, readJSON(t, file)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	cred, err := NewKeychain(env).Lookup(context.Background(), "index.docker.io/library/alpine")
	if err != nil || cred != (Credential{Username: "alice", Password: "pa:ss"}) {
		t.Errorf("Lookup after Login: %+v, %v", cred, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("the directory holds %v: a temporary file was left", entries)
	}
}

// existingFile is a Docker config with keys dockah does not know.
const existingFile = `{
	"auths": {
		"other.example": {"auth": "` + "b3RoZXI6c2VjcmV0" + `", "email": "kept@example.com"},
		"https://quay.io/v1/": {"auth": "b2xkOm9sZA=="},
		"quay.io": {"auth": "b2xkOm9sZA=="}
	},
	"credHelpers": {"gcr.io": "gcloud"},
	"experimental": "enabled",
	"proxies": {"default": {"httpProxy": "http://proxy:3128", "noProxy": "<local>&co"}}
}`

func TestLoginKeepsOtherKeys(t *testing.T) {
	file := filepath.Join(writeFiles(t, t.TempDir(), map[string]string{"config.json": existingFile}), "config.json")
	before := readJSON(t, file)
	env := Env{AuthFile: file}
	if _, err := Login(env, "quay.io", "new", "pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := Login(env, "registry.example/team", "team", "pw2"); err != nil {
		t.Fatal(err)
	}
	after := readJSON(t, file)
	wantAuths := before["auths"].(map[string]any)
	wantAuths["quay.io"] = map[string]any{"auth": basic("new", "pw")}
	wantAuths["registry.example/team"] = map[string]any{"auth": basic("team", "pw2")}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	if data, _ := os.ReadFile(file); !strings.Contains(string(data), "<local>&co") {
		t.Errorf("kept values were escaped:\n%s", data)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode() != 0o600 {
		t.Errorf("mode after rewrite: %v, %v", fi.Mode(), err)
	}
}

func TestLogout(t *testing.T) {
	file := filepath.Join(writeFiles(t, t.TempDir(), map[string]string{"auth.json": existingFile}), "auth.json")
	env := Env{AuthFile: file}
	if err := Logout(env, "quay.io"); err != nil {
		t.Fatal(err)
	}
	got := readJSON(t, file)
	auths := got["auths"].(map[string]any)
	if _, ok := auths["quay.io"]; ok {
		t.Error("quay.io is still there")
	}
	if _, ok := auths["https://quay.io/v1/"]; ok {
		t.Error("the legacy key for quay.io is still there")
	}
	if _, ok := auths["other.example"]; !ok || got["experimental"] != "enabled" {
		t.Errorf("Logout removed more than quay.io: %v", got)
	}
	if err := Logout(env, "quay.io"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), file) {
		t.Errorf("second Logout: %v, want ErrNotFound naming the file", err)
	}
	if err := Logout(Env{AuthFile: filepath.Join(t.TempDir(), "none.json")}, "quay.io"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Logout without a file: %v, want ErrNotFound", err)
	}
}

func TestLogoutAll(t *testing.T) {
	realHelper(t, map[string]helperCreds{"gcr.io": {Username: "u", Secret: "s"}})
	file := filepath.Join(writeFiles(t, t.TempDir(), map[string]string{
		"auth.json": strings.Replace(existingFile, `"gcloud"`, `"`+testHelperName+`"`, 1),
	}), "auth.json")
	if err := LogoutAll(Env{AuthFile: file}); err != nil {
		t.Fatal(err)
	}
	got := readJSON(t, file)
	if auths := got["auths"].(map[string]any); len(auths) != 0 {
		t.Errorf("auths left: %v", auths)
	}
	if got["experimental"] != "enabled" || got["credHelpers"] == nil {
		t.Errorf("LogoutAll removed other keys: %v", got)
	}
	if _, ok := helperStoreContents(t)["gcr.io"]; ok {
		t.Error("the helper still holds gcr.io")
	}
}

func TestLoginErrors(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(writeFiles(t, dir, map[string]string{"auth.json": "{\"auths\": {\n"}), "auth.json")
	tests := []struct {
		name, file, registry, user, want string
	}{
		{"malformed file", broken, "quay.io", "u", "log in to quay.io: " + broken + ":2: unexpected end of JSON input"},
		{"a tag", filepath.Join(dir, "x.json"), "quay.io/ns/img:1", "u", "log in to quay.io/ns/img:1: a tag has no credentials of its own: want host[:port] or host[:port]/namespace"},
		{"a digest", filepath.Join(dir, "x.json"), "quay.io/img@sha256:0", "u", "log in to quay.io/img@sha256:0: not a registry: want host[:port] or host[:port]/namespace"},
		{"empty", filepath.Join(dir, "x.json"), "", "u", "log in to : not a registry: want host[:port] or host[:port]/namespace"},
		{"colon in user", filepath.Join(dir, "x.json"), "quay.io", "a:b", "log in to quay.io: a user name cannot contain ':'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Login(Env{AuthFile: tt.file}, tt.registry, tt.user, "pw")
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n  %v\nwant\n  %s", err, tt.want)
			}
		})
	}
	if data, _ := os.ReadFile(broken); string(data) != "{\"auths\": {\n" {
		t.Errorf("a malformed file was rewritten:\n%s", data)
	}
}

func TestLoginFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"dotfiles/docker-config.json": `{"experimental": "enabled"}`})
	link := filepath.Join(dir, "home", ".docker", "config.json")
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../dotfiles/docker-config.json", link); err != nil {
		t.Fatal(err)
	}
	if _, err := Login(Env{AuthFile: link}, "quay.io", "u", "p"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v, %v", fi.Mode(), err)
	}
	got := readJSON(t, filepath.Join(dir, "dotfiles", "docker-config.json"))
	if got["experimental"] != "enabled" || got["auths"] == nil {
		t.Errorf("the linked file holds %v", got)
	}
}
