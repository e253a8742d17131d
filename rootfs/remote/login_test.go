package remote

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

// basicAuth lets through only requests with the user and password,
// asking for HTTP basic authentication as small registries do.
func basicAuth(user, password string) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if u, p, ok := req.BasicAuth(); !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="dockah test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
}

func TestCheckLogin(t *testing.T) {
	reg := newRegistry(t)
	reg.use(basicAuth("alice", "s3cret"))
	for _, tc := range []struct {
		name, user, password string
		want                 error
	}{
		{"right", "alice", "s3cret", nil},
		{"wrong password", "alice", "guess", ErrUnauthorized},
		{"wrong user", "bob", "s3cret", ErrUnauthorized},
		{"none", "", "", ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLogin(context.Background(), reg.host, tc.user, tc.password, opts())
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("CheckLogin(%s, %s) = %v, want %v", tc.user, tc.password, err, tc.want)
			}
		})
	}
}

// keychain gives the same credentials for every registry.
type keychain authn.AuthConfig

func (k keychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.FromConfig(authn.AuthConfig(k)), nil
}

func TestPullAuthenticated(t *testing.T) {
	reg := newRegistry(t)
	ref := reg.ref("test/private:v1")
	img := newImage(t, runtime.GOARCH, gzipLayer(t, "private", 1000))
	push(t, ref, img)
	reg.use(basicAuth("alice", "s3cret"))
	for _, tc := range []struct {
		name     string
		keychain authn.Keychain
		want     error
	}{
		{"credentials", keychain{Username: "alice", Password: "s3cret"}, nil},
		{"wrong credentials", keychain{Username: "alice", Password: "guess"}, ErrUnauthorized},
		{"anonymous", nil, ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts()
			o.Keychain = tc.keychain
			st := newStore(t)
			p, err := Pull(context.Background(), st, ref, PullOptions{Options: o})
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Pull = %v, want %v", err, tc.want)
			}
			if err == nil && p.Image.ID != configDigest(t, img).String() {
				t.Errorf("Pull gave %s, want %s", p.Image.ID, configDigest(t, img))
			}
		})
	}
}
