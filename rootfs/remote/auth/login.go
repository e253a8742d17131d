package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Login stores username and password for registry ("host[:port]", or
// "host[:port]/namespace" for credentials of a namespace only) in env's
// WriteFile, or in the credential helper that file names for the
// registry, and says where: the file's path or "credential helper NAME".
// Every other key of the file is kept.
func Login(env Env, registry, username, password string) (string, error) {
	return login(context.Background(), Exec{}, env.WriteFile(), registry, username, password)
}

// Logout removes the credential for registry from env's WriteFile, and
// from the credential helper that file names for the registry. It
// returns an error wrapping ErrNotFound when there was none.
func Logout(env Env, registry string) error {
	return logout(context.Background(), Exec{}, env.WriteFile(), registry)
}

// LogoutAll removes every credential of env's WriteFile: its auths, and
// the registries of its credHelpers from their helpers. A credsStore is
// left alone: it holds credentials of other tools too.
func LogoutAll(env Env) error {
	return logoutAll(context.Background(), Exec{}, env.WriteFile())
}

func login(ctx context.Context, r Runner, file, registry, username, password string) (string, error) {
	key, err := loginKey(registry)
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", registry, err)
	}
	if strings.Contains(username, ":") {
		return "", fmt.Errorf("log in to %s: a user name cannot contain ':'", key)
	}
	doc, err := readDocument(file)
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", key, err)
	}
	host, _, namespaced := strings.Cut(key, "/")
	if helper := doc.cfg.helperFor(host); helper != "" {
		if namespaced {
			return "", fmt.Errorf("log in to %s: %s sends %s to credential helper %s, which stores credentials per registry, not per namespace", key, file, host, helper)
		}
		if err := helperStore(ctx, r, helper, host, username, password); err != nil {
			return "", fmt.Errorf("log in to %s with credential helper %s (named in %s): %w", key, helper, file, err)
		}
		return "credential helper " + helper, nil
	}
	auths, err := doc.auths()
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", key, err)
	}
	value, err := json.Marshal(map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(username + ":" + password))})
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", key, err)
	}
	auths[key] = value
	if err := doc.setAuths(auths); err != nil {
		return "", fmt.Errorf("log in to %s: %w", key, err)
	}
	if err := doc.write(); err != nil {
		return "", fmt.Errorf("log in to %s: %w", key, err)
	}
	return file, nil
}

func logout(ctx context.Context, r Runner, file, registry string) error {
	key, err := loginKey(registry)
	if err != nil {
		return fmt.Errorf("log out of %s: %w", registry, err)
	}
	doc, err := readDocument(file)
	if err != nil {
		return fmt.Errorf("log out of %s: %w", key, err)
	}
	removed := false
	host, _, namespaced := strings.Cut(key, "/")
	if helper := doc.cfg.helperFor(host); helper != "" && !namespaced {
		erased, err := helperErase(ctx, r, helper, host)
		if err != nil {
			return fmt.Errorf("log out of %s with credential helper %s (named in %s): %w", key, helper, file, err)
		}
		removed = erased
	}
	auths, err := doc.auths()
	if err != nil {
		return fmt.Errorf("log out of %s: %w", key, err)
	}
	changed := false
	for k := range auths {
		if normalizeKey(k, false) == key {
			delete(auths, k)
			changed = true
		}
	}
	if changed {
		if err := doc.setAuths(auths); err != nil {
			return fmt.Errorf("log out of %s: %w", key, err)
		}
		if err := doc.write(); err != nil {
			return fmt.Errorf("log out of %s: %w", key, err)
		}
	}
	if !removed && !changed {
		return fmt.Errorf("log out of %s: %w in %s", key, ErrNotFound, file)
	}
	return nil
}

func logoutAll(ctx context.Context, r Runner, file string) error {
	doc, err := readDocument(file)
	if err != nil {
		return fmt.Errorf("log out of every registry: %w", err)
	}
	var errs []error
	for _, registry := range sortedKeys(doc.cfg.credHelpers) {
		helper := doc.cfg.credHelpers[registry]
		if _, err := helperErase(ctx, r, helper, registry); err != nil {
			errs = append(errs, fmt.Errorf("log out of %s with credential helper %s (named in %s): %w", registry, helper, file, err))
		}
	}
	if _, ok := doc.top["auths"]; ok {
		if err := doc.setAuths(map[string]json.RawMessage{}); err != nil {
			return fmt.Errorf("log out of every registry: %w", err)
		}
		if err := doc.write(); err != nil {
			errs = append(errs, fmt.Errorf("log out of every registry: %w", err))
		}
	}
	return errors.Join(errs...)
}

// loginKey normalizes the registry argument of login and logout:
// host[:port] or host[:port]/namespace, without scheme, tag or digest.
func loginKey(registry string) (string, error) {
	key := normalizeKey(strings.TrimSpace(registry), false)
	host, path, _ := strings.Cut(key, "/")
	switch {
	case host == "" || strings.ContainsAny(key, " \t\n@"):
		return "", errors.New("not a registry: want host[:port] or host[:port]/namespace")
	case strings.Contains(path, ":"):
		return "", errors.New("a tag has no credentials of its own: want host[:port] or host[:port]/namespace")
	case strings.Contains(path, "//") || strings.HasPrefix(path, "/"):
		return "", errors.New("not a registry: empty path component")
	}
	return key, nil
}

// document is a credentials file kept as raw JSON, so that a rewrite
// keeps every key it does not change.
type document struct {
	path string
	top  map[string]json.RawMessage
	cfg  *config
}

// readDocument reads path for editing; a missing file is an empty one.
func readDocument(path string) (*document, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return decodeDocument(path, data)
}

func decodeDocument(path string, data []byte) (*document, error) {
	cfg, err := parse(path, data, false)
	if err != nil {
		return nil, err
	}
	d := &document{path: path, top: map[string]json.RawMessage{}, cfg: cfg}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &d.top); err != nil {
			return nil, jsonError(path, data, err)
		}
		if d.top == nil { // the file says null
			d.top = map[string]json.RawMessage{}
		}
	}
	return d, nil
}

func (d *document) auths() (map[string]json.RawMessage, error) {
	auths := map[string]json.RawMessage{}
	if raw, ok := d.top["auths"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &auths); err != nil {
			return nil, fmt.Errorf("%s: auths: %w", d.path, err)
		}
	}
	return auths, nil
}

func (d *document) setAuths(auths map[string]json.RawMessage) error {
	raw, err := json.Marshal(auths)
	if err != nil {
		return fmt.Errorf("%s: auths: %w", d.path, err)
	}
	d.top["auths"] = raw
	return nil
}

// encode renders the document as podman writes it: tab-indented, and
// without escaping '<', '>' and '&' in values kept from the old file.
func (d *document) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	if err := enc.Encode(d.top); err != nil {
		return nil, fmt.Errorf("encode %s: %w", d.path, err)
	}
	return b.Bytes(), nil
}

// write replaces the file atomically: a temporary file in the same
// directory, created 0600, written and fsynced, renamed over the file,
// and the directory fsynced so that the rename survives a crash. A
// symbolic link (a config.json kept with other dotfiles) is followed, so
// that the file it names is replaced rather than the link.
func (d *document) write() error {
	data, err := d.encode()
	if err != nil {
		return err
	}
	target := d.path
	if resolved, err := filepath.EvalSymlinks(d.path); err == nil {
		target = resolved
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := writeSync(tmp, data); err != nil {
		return fmt.Errorf("write %s: %w", d.path, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeSync writes data to f with mode 0600, fsyncs and closes it.
func writeSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		// CreateTemp creates 0600 today; the credentials must not depend
		// on that detail.
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
