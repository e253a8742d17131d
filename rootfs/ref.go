package rootfs

import (
	"fmt"
	"strings"
)

// Reference is an image name and tag, such as docker.io/library/nginx:1.27.
type Reference struct {
	Name string
	Tag  string
}

// String returns NAME:TAG.
func (r Reference) String() string { return r.Name + ":" + r.Tag }

// fileName is the reference's file name under refs/. Names never contain
// '+', so replacing '/' by '+' is reversible and the result is one path
// element.
func (r Reference) fileName() string {
	return strings.ReplaceAll(r.Name, "/", "+") + ":" + r.Tag
}

func referenceFromFileName(s string) (Reference, error) {
	return ParseReference(strings.ReplaceAll(s, "+", "/"))
}

const (
	maxNameLen = 255
	maxTagLen  = 128
)

// ParseReference parses NAME[:TAG]; the tag defaults to latest. Names are
// lower-case path components of letters, digits, '.', '_' and '-', the
// first of which may be a registry host with a port. Digest references
// (NAME@sha256:...) are not names; Resolve takes image IDs directly.
func ParseReference(s string) (Reference, error) {
	if strings.Contains(s, "@") {
		return Reference{}, fmt.Errorf("reference %q: digest references are not supported; use the image ID", s)
	}
	name, tag := s, "latest"
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		name, tag = s[:i], s[i+1:]
	}
	if err := checkName(name); err != nil {
		return Reference{}, fmt.Errorf("reference %q: %w", s, err)
	}
	if err := checkTag(tag); err != nil {
		return Reference{}, fmt.Errorf("reference %q: %w", s, err)
	}
	return Reference{Name: name, Tag: tag}, nil
}

func checkName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("name must have 1 to %d characters", maxNameLen)
	}
	for i, comp := range strings.Split(name, "/") {
		if comp == "" || !isAlnum(comp[0]) || !isAlnum(comp[len(comp)-1]) {
			return fmt.Errorf("name component %q must start and end with a letter or digit", comp)
		}
		for j := 0; j < len(comp); j++ {
			c := comp[j]
			ok := isLowerAlnum(c) || c == '.' || c == '_' || c == '-' ||
				(i == 0 && (c == ':' || (c >= 'A' && c <= 'Z')))
			if !ok {
				return fmt.Errorf("name component %q has %q (accepted: a-z 0-9 . _ -)", comp, c)
			}
		}
		if strings.Contains(comp, "..") {
			return fmt.Errorf("name component %q has '..'", comp)
		}
	}
	return nil
}

func checkTag(tag string) error {
	if tag == "" || len(tag) > maxTagLen {
		return fmt.Errorf("tag must have 1 to %d characters", maxTagLen)
	}
	if tag[0] == '.' || tag[0] == '-' {
		return fmt.Errorf("tag %q must start with a letter, digit or '_'", tag)
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return fmt.Errorf("tag %q has %q (accepted: A-Z a-z 0-9 _ . -)", tag, c)
		}
	}
	return nil
}

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

func isAlnum(c byte) bool { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z') }

// isHex reports whether s is non-empty lower-case hexadecimal.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
			return false
		}
	}
	return true
}

// digestHex returns the hex part of a sha256 digest, refusing anything
// else: digests become file names, so they are checked before use.
func digestHex(d string) (string, error) {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 || !isHex(hex) {
		return "", fmt.Errorf("digest %q: want sha256: and 64 lower-case hex digits", d)
	}
	return hex, nil
}

// ParseDigest checks that d is "sha256:" and 64 lower-case hex digits,
// the only digests the store accepts, and returns its hex part.
func ParseDigest(d string) (string, error) { return digestHex(d) }
