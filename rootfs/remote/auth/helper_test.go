package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeFiles writes name -> content under dir and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRealHelper runs a real docker-credential-dockahtest from $PATH.
func TestRealHelper(t *testing.T) {
	logFile := realHelper(t, map[string]helperCreds{
		"registry.example.com":        {Username: "alice", Secret: "from-helper"},
		"token.example.com":           {Username: "<token>", Secret: "refresh"},
		"https://index.docker.io/v1/": {Username: "hub", Secret: "hub-secret"},
	})
	home := writeFiles(t, t.TempDir(), map[string]string{
		".docker/config.json": `{
			"auths": {"registry.example.com": {"auth": "` + basic("ignored", "x") + `"}},
			"credHelpers": {"registry.example.com": "dockahtest", "token.example.com": "dockahtest"},
			"credsStore": "dockahtest"
		}`,
	})
	env := Env{Home: home, XDGRuntimeDir: t.TempDir()}
	k := NewKeychain(env)
	tests := []struct {
		repo  string
		want  Credential
		calls []string
	}{
		{"registry.example.com/team/app", Credential{Username: "alice", Password: "from-helper"}, []string{"get registry.example.com"}},
		{"token.example.com/x", Credential{IdentityToken: "refresh"}, []string{"get token.example.com"}},
		{"docker.io/library/alpine", Credential{Username: "hub", Password: "hub-secret"}, []string{"get docker.io", "get https://index.docker.io/v1/"}},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			os.Remove(logFile)
			got, err := k.Lookup(context.Background(), tt.repo)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.calls, helperCalls(t, logFile)); diff != "" {
				t.Errorf("helper calls (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := k.Lookup(context.Background(), "unknown.example/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a registry the helper does not know: %v, want ErrNotFound", err)
	}
}

func TestHelperFailures(t *testing.T) {
	realHelper(t, nil)
	tests := []struct {
		name, helper, want string
	}{
		{"missing program", "nonexistent-dockah", `: credHelpers."registry.example.com": docker-credential-nonexistent-dockah get: exec: "docker-credential-nonexistent-dockah": executable file not found in $PATH`},
		{"a path for a name", "../../../bin/sh", `: credHelpers."registry.example.com": credential helper "../../../bin/sh": not a helper name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			authFile := filepath.Join(dir, "auth.json")
			writeFiles(t, dir, map[string]string{"auth.json": `{"credHelpers": {"registry.example.com": "` + tt.helper + `"}}`})
			_, err := NewKeychain(Env{AuthFile: authFile}).Lookup(context.Background(), "registry.example.com/x")
			if err == nil || err.Error() != authFile+tt.want {
				t.Errorf("error\n  %v\nwant\n  %s", err, authFile+tt.want)
			}
		})
	}
}

func TestLoginWithRealHelper(t *testing.T) {
	logFile := realHelper(t, nil)
	dir := t.TempDir()
	authFile := filepath.Join(dir, "auth.json")
	original := `{"credHelpers": {"registry.example.com": "dockahtest"}}`
	writeFiles(t, dir, map[string]string{"auth.json": original})
	env := Env{AuthFile: authFile}

	where, err := Login(env, "registry.example.com", "bob", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if where != "credential helper dockahtest" {
		t.Errorf("Login says %q", where)
	}
	if got := helperStoreContents(t)["registry.example.com"]; got != (helperCreds{Username: "bob", Secret: "s3cret"}) {
		t.Errorf("helper store holds %+v", got)
	}
	if data, _ := os.ReadFile(authFile); string(data) != original {
		t.Errorf("the file changed:\n%s", data)
	}
	cred, err := NewKeychain(env).Lookup(context.Background(), "registry.example.com/x")
	if err != nil || cred.Username != "bob" || cred.Password != "s3cret" {
		t.Errorf("Lookup after Login: %+v, %v", cred, err)
	}
	if _, err := Login(env, "registry.example.com/team", "bob", "x"); err == nil || !strings.Contains(err.Error(), "per registry, not per namespace") {
		t.Errorf("namespaced login through a helper: %v", err)
	}

	if err := Logout(env, "registry.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, ok := helperStoreContents(t)["registry.example.com"]; ok {
		t.Error("Logout left the credential in the helper")
	}
	if err := Logout(env, "registry.example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Logout: %v, want ErrNotFound", err)
	}
	want := []string{"store registry.example.com", "get registry.example.com", "erase registry.example.com", "erase registry.example.com"}
	if diff := cmp.Diff(want, helperCalls(t, logFile)); diff != "" {
		t.Errorf("helper calls (-want +got):\n%s", diff)
	}
}
