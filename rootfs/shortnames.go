package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// dirShortNames holds what pulls of short names resolved to: the file
// short-names/PATH ('/' written '+') holds the fully qualified name, so
// that a definition saying image = "tools" finds the image a pull of
// "tools" stored as quay.io/acme/tools. This is the store's copy of
// podman's short-name alias cache; lookups read it without reading the
// registries configuration.
const dirShortNames = "short-names"

// RecordShortName remembers that the short name (a repository path without
// registry, tag or digest) was resolved to the fully qualified name.
func (s *Store) RecordShortName(short, qualified string) error {
	p, err := parseParts(short)
	if err != nil || p.domain != "" || p.tag != "" || p.digest != "" {
		return fmt.Errorf("record short name %q: not a short repository name", short)
	}
	q, err := parseParts(qualified)
	if err != nil || q.domain == "" || q.tag != "" || q.digest != "" {
		return fmt.Errorf("record short name %q: %q is not a fully qualified repository", short, qualified)
	}
	if err := os.MkdirAll(s.path(dirShortNames), 0o700); err != nil {
		return fmt.Errorf("record short name: %w", err)
	}
	file := s.path(dirShortNames, strings.ReplaceAll(p.path, "/", "+"))
	if err := writeFileAtomic(file, []byte(qualified+"\n"), 0o600); err != nil {
		return fmt.Errorf("record short name %s: %w", short, err)
	}
	return nil
}

// shortNameTarget reads what a pull of the short repository path resolved
// to.
func (s *Store) shortNameTarget(path string) (string, error) {
	data, err := readRecord(s.path(dirShortNames, strings.ReplaceAll(path, "/", "+")))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("short name %s: %w", path, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read short name %s: %w", path, err)
	}
	name := strings.TrimSpace(string(data))
	if q, err := parseParts(name); err != nil || q.domain == "" || q.tag != "" || q.digest != "" {
		return "", fmt.Errorf("read short name %s: %q is not a fully qualified repository", path, name)
	}
	return name, nil
}
