package auth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// ErrNotFound is returned when no file or helper has a credential.
var ErrNotFound = errors.New("no credentials")

// Keychain looks credentials up in the files of a search order. It
// implements go-containerregistry's authn.Keychain and
// authn.ContextKeychain.
type Keychain struct {
	// Files are read in order; the first with a credential wins.
	Files []File
	// FS is the root file system the absolute paths of Files are read
	// from; nil means os.DirFS("/").
	FS fs.FS
	// Helpers runs credential helpers; nil means Exec.
	Helpers Runner
}

// NewKeychain returns the Keychain of env's search order on the host.
func NewKeychain(env Env) *Keychain {
	return &Keychain{Files: env.Files(), FS: os.DirFS("/"), Helpers: Exec{}}
}

// Resolve returns the authenticator for a registry or repository, or
// authn.Anonymous when nothing matches.
func (k *Keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

// ResolveContext is Resolve with a context for the credential helpers.
func (k *Keychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	repo, registry := r.String(), r.RegistryStr()
	if repo != registry && !strings.HasPrefix(repo, registry+"/") {
		repo = registry
	}
	cred, err := k.Lookup(ctx, repo)
	if errors.Is(err, ErrNotFound) {
		return authn.Anonymous, nil
	}
	if err != nil {
		return nil, err
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      cred.Username,
		Password:      cred.Password,
		IdentityToken: cred.IdentityToken,
		RegistryToken: cred.RegistryToken,
	}), nil
}

// Lookup returns the credential for repository ("host[:port]/path", or a
// registry "host[:port]"), or an error wrapping ErrNotFound. A file that
// cannot be read or parsed, a malformed entry it would use and a failing
// helper are errors naming the file.
func (k *Keychain) Lookup(ctx context.Context, repository string) (Credential, error) {
	repo := normalizeRepo(repository)
	registry, _, _ := strings.Cut(repo, "/")
	for _, f := range k.Files {
		c, err := k.read(f)
		if err != nil {
			return Credential{}, err
		}
		if c == nil {
			continue
		}
		cred, found, err := c.find(ctx, k.runner(), repo, registry)
		if err != nil {
			return Credential{}, err
		}
		if found {
			return cred, nil
		}
	}
	return Credential{}, fmt.Errorf("look up credentials for %s: %w", repo, ErrNotFound)
}

func (k *Keychain) runner() Runner {
	if k.Helpers == nil {
		return Exec{}
	}
	return k.Helpers
}

// read parses f; nil when it does not exist.
func (k *Keychain) read(f File) (*config, error) {
	fsys := k.FS
	if fsys == nil {
		fsys = os.DirFS("/")
	}
	data, err := fs.ReadFile(fsys, strings.TrimPrefix(filepath.Clean(f.Path), "/"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		// The *fs.PathError names the path relative to FS: name the
		// real one instead.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("read credentials from %s: %w", f.Path, err)
	}
	return parse(f.Path, data, f.Legacy)
}

// find looks repo up in one file: a credHelpers entry for the registry
// decides alone; otherwise the most specific auths key, then the
// credsStore.
func (c *config) find(ctx context.Context, r Runner, repo, registry string) (Credential, bool, error) {
	if helper, ok := c.credHelpers[registry]; ok {
		cred, found, err := helperGet(ctx, r, helper, registry)
		if err != nil {
			return Credential{}, false, fmt.Errorf("%s: credHelpers.%q: %w", c.file, registry, err)
		}
		return cred, found, nil
	}
	if cred, found, err := c.credential(repo); err != nil || found {
		return cred, found, err
	}
	if c.credsStore == "" {
		return Credential{}, false, nil
	}
	cred, found, err := helperGet(ctx, r, c.credsStore, registry)
	if err != nil {
		return Credential{}, false, fmt.Errorf("%s: credsStore: %w", c.file, err)
	}
	return cred, found, nil
}

// helperFor returns the helper that stores credentials of registry in
// this file: its credHelpers entry, else the credsStore, else none.
func (c *config) helperFor(registry string) string {
	if helper, ok := c.credHelpers[registry]; ok {
		return helper
	}
	return c.credsStore
}
