package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// dockerHub is the registry name Podman uses for Docker Hub; Docker's own
// key for it is legacyDockerHubKey.
const (
	dockerHub          = "docker.io"
	legacyDockerHubKey = "https://index.docker.io/v1/"
)

// Credential is what a registry is authenticated with.
type Credential struct {
	Username string
	Password string
	// IdentityToken is an OAuth2 refresh token (Docker's "identitytoken",
	// a helper's Username "<token>"), exchanged for access tokens.
	IdentityToken string
	// RegistryToken is a bearer token sent as it is.
	RegistryToken string
}

func (c Credential) empty() bool { return c == Credential{} }

// entry is one value of "auths".
type entry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// keyedEntry is an entry with the key it was written under.
type keyedEntry struct {
	key string
	entry
}

// config is one parsed credentials file.
type config struct {
	file        string
	auths       map[string]keyedEntry // by normalized key
	credHelpers map[string]string     // by normalized registry
	credsStore  string
}

// fileJSON is the format of auth.json and config.json.
type fileJSON struct {
	Auths       map[string]entry  `json:"auths"`
	CredHelpers map[string]string `json:"credHelpers"`
	CredsStore  string            `json:"credsStore"`
}

// parse reads a credentials file; legacy is ~/.dockercfg's format. Only
// the structure is checked here: a malformed "auth" is reported when it
// is the one a lookup needs, so that one bad entry does not stop pulls
// from other registries.
func parse(file string, data []byte, legacy bool) (*config, error) {
	var f fileJSON
	if len(bytes.TrimSpace(data)) > 0 {
		var err error
		if legacy {
			err = json.Unmarshal(data, &f.Auths)
		} else {
			err = json.Unmarshal(data, &f)
		}
		if err != nil {
			return nil, jsonError(file, data, err)
		}
	}
	c := &config{file: file, auths: map[string]keyedEntry{}, credHelpers: map[string]string{}, credsStore: f.CredsStore}
	// Several keys can name the same thing ("docker.io" and
	// "https://index.docker.io/v1/"): the key written in normalized form
	// wins, else the first in sorted order, so that the answer never
	// depends on map order.
	for _, key := range sortedKeys(f.Auths) {
		n := normalizeKey(key, legacy)
		if _, taken := c.auths[n]; !taken || key == n {
			c.auths[n] = keyedEntry{key: key, entry: f.Auths[key]}
		}
	}
	for _, key := range sortedKeys(f.CredHelpers) {
		c.credHelpers[normalizeKey(key, true)] = f.CredHelpers[key]
	}
	return c, nil
}

// jsonError names the file, and the line when the decoder knows the
// offset.
func jsonError(file string, data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("%s:%d: %w", file, lineOf(data, syntax.Offset), err)
	case errors.As(err, &typ):
		return fmt.Errorf("%s:%d: %s: want %s, found %s", file, lineOf(data, typ.Offset), typ.Field, jsonKind(typ.Type), typ.Value)
	}
	return fmt.Errorf("%s: %w", file, err)
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	}
	return t.Kind().String()
}

func lineOf(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

// credential returns the credential of the most specific auths key for
// a normalized repository: the repository, each namespace, the registry.
func (c *config) credential(repo string) (Credential, bool, error) {
	key := repo
	for {
		if e, ok := c.auths[key]; ok {
			cred, err := e.credential()
			if err != nil {
				return Credential{}, false, fmt.Errorf("%s: auths.%q: %w", c.file, e.key, err)
			}
			// An empty entry is a marker Docker writes beside a helper.
			if !cred.empty() {
				return cred, true, nil
			}
		}
		i := strings.LastIndexByte(key, '/')
		if i < 0 {
			return Credential{}, false, nil
		}
		key = key[:i]
	}
}

// credential decodes an entry: "auth" (base64 of user:password) wins over
// "username" and "password".
func (e entry) credential() (Credential, error) {
	c := Credential{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken}
	if e.Auth == "" {
		return c, nil
	}
	decoded, err := base64.StdEncoding.DecodeString(e.Auth)
	if err != nil {
		// Some tools write it without padding.
		if raw, rawErr := base64.RawStdEncoding.DecodeString(strings.TrimRight(e.Auth, "=")); rawErr == nil {
			decoded, err = raw, nil
		}
	}
	if err != nil {
		return Credential{}, fmt.Errorf("auth: not base64 of user:password: %w", err)
	}
	user, password, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return Credential{}, errors.New("auth: the decoded value has no ':' between user and password")
	}
	c.Username = user
	// Old Docker versions padded the password with NULs.
	c.Password = strings.Trim(password, "\x00")
	return c, nil
}

// normalizeKey turns an auths or credHelpers key into the form lookups
// use: no scheme; a URL (and every key of a legacy file, or of
// credHelpers) reduced to its host; no trailing "/", "/v1" or "/v2"; the
// host in lower case with Docker Hub's names made docker.io.
func normalizeKey(key string, hostOnly bool) string {
	k := key
	for _, scheme := range []string{"https://", "http://"} {
		if len(k) >= len(scheme) && strings.EqualFold(k[:len(scheme)], scheme) {
			k, hostOnly = k[len(scheme):], true
		}
	}
	k = strings.TrimRight(k, "/")
	if hostOnly {
		k, _, _ = strings.Cut(k, "/")
	}
	k = strings.TrimSuffix(strings.TrimSuffix(k, "/v1"), "/v2")
	host, rest, hasPath := strings.Cut(k, "/")
	host = normalizeHost(host)
	if !hasPath {
		return host
	}
	return host + "/" + rest
}

// normalizeRepo turns a repository (or registry) into the form of
// normalized keys, dropping a tag or digest, and adding Docker Hub's
// implied library/ namespace.
func normalizeRepo(repo string) string {
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndexByte(repo, ':'); i > 0 && i > strings.IndexByte(repo, '/') && strings.Contains(repo, "/") {
		repo = repo[:i]
	}
	host, rest, hasPath := strings.Cut(repo, "/")
	host = normalizeHost(host)
	if !hasPath {
		return host
	}
	if host == dockerHub && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return host + "/" + rest
}

func normalizeHost(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		return dockerHub
	}
	return host
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
