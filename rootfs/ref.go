package rootfs

import (
	"fmt"
	"strings"
)

// Reference is a fully qualified image name with a tag, a digest or both,
// such as docker.io/library/nginx:1.27 or
// quay.io/app/web@sha256:0123…. Names follow Docker's normalization: a
// name without a registry is on docker.io, and a one-component docker.io
// name is under library/.
type Reference struct {
	// Name is the repository, registry first: docker.io/library/nginx.
	Name string
	// Tag is the tag; "" when the reference has only a digest.
	Tag string
	// Digest is a manifest digest, "sha256:" and 64 hex digits; "" for a
	// reference by tag.
	Digest string
}

// String returns NAME:TAG, NAME@DIGEST or NAME:TAG@DIGEST.
func (r Reference) String() string {
	s := r.Name
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Registry returns the registry part of the name: docker.io, localhost,
// 127.0.0.1:5000.
func (r Reference) Registry() string {
	reg, _, _ := strings.Cut(r.Name, "/")
	return reg
}

// Repository returns the name without its registry: library/nginx.
func (r Reference) Repository() string {
	_, repo, _ := strings.Cut(r.Name, "/")
	return repo
}

// Familiar returns the name as docker prints it: nginx:1.27 for
// docker.io/library/nginx:1.27, and the full name for other registries.
func (r Reference) Familiar() string {
	f := r
	if rest, ok := strings.CutPrefix(f.Name, defaultDomain+"/"); ok {
		f.Name = rest
		if lib, ok := strings.CutPrefix(rest, officialRepoPrefix); ok && !strings.Contains(lib, "/") {
			f.Name = lib
		}
	}
	return f.String()
}

// fileName is the reference's file name under refs/. Names never contain
// '+', so replacing '/' by '+' is reversible and the result is one path
// element; digests are written NAME@sha256:HEX.
func (r Reference) fileName() string {
	return strings.ReplaceAll(r.String(), "/", "+")
}

// referenceFromFileName reads a refs/ file name back. Files written before
// names were normalized hold names as they were given (tools:latest); they
// are read as they are, never normalized, so that lookups can still find
// them.
func referenceFromFileName(s string) (Reference, error) {
	p, err := parseParts(strings.ReplaceAll(s, "+", "/"))
	if err != nil {
		return Reference{}, err
	}
	return Reference{Name: p.name, Tag: p.tag, Digest: p.digest}, nil
}

const (
	maxNameLen         = 255
	maxTagLen          = 128
	defaultDomain      = "docker.io"
	localDomain        = "localhost"
	officialRepoPrefix = "library/"
	defaultTag         = "latest"
)

// ParseReference parses NAME[:TAG][@DIGEST] with Docker's normalization:
// nginx is docker.io/library/nginx:latest, acceptance/tools is
// docker.io/acceptance/tools:latest, and a name whose first component
// looks like a host (it has '.' or ':', or is localhost) keeps it. The
// tag defaults to latest unless a digest is given.
//
// This is a hand-written copy of github.com/distribution/reference's
// ParseNormalizedNamed grammar, kept here because the activation shim
// resolves names on every start and that package compiles a dozen regular
// expressions at init (about 1 ms); a differential fuzz test keeps the two
// equal.
func ParseReference(s string) (Reference, error) {
	p, err := parseParts(s)
	if err != nil {
		return Reference{}, err
	}
	return p.normalized(defaultDomain), nil
}

// ParseLocalReference parses a name that dockah gives an image itself
// (image tag, commit, import --name, an OCI layout's ref.name): a name
// without a registry is stored as localhost/NAME, as podman does, never
// as a docker.io image it did not come from.
func ParseLocalReference(s string) (Reference, error) {
	p, err := parseParts(s)
	if err != nil {
		return Reference{}, err
	}
	return p.normalized(localDomain), nil
}

// IsShortName reports whether s names no registry (nginx, app/web), so
// that where the image lives is a matter of resolution.
func IsShortName(s string) bool {
	p, err := parseParts(s)
	return err == nil && p.domain == ""
}

// parts is a parsed reference before normalization.
type parts struct {
	domain string // "" when the name has no registry part
	path   string // the rest of the name
	name   string // as written: domain/path or path
	tag    string
	digest string
}

func (p parts) normalized(domain string) Reference {
	r := Reference{Name: p.name, Tag: p.tag, Digest: p.digest}
	switch {
	case p.domain == "" && domain == defaultDomain && !strings.Contains(p.path, "/"):
		r.Name = defaultDomain + "/" + officialRepoPrefix + p.path
	case p.domain == "":
		r.Name = domain + "/" + p.path
	case p.domain == "index.docker.io":
		r.Name = defaultDomain + "/" + p.path
		if !strings.Contains(p.path, "/") {
			r.Name = defaultDomain + "/" + officialRepoPrefix + p.path
		}
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = defaultTag
	}
	return r
}

func parseParts(s string) (parts, error) {
	var p parts
	if len(s) == 64 && isHex(s) {
		return parts{}, fmt.Errorf("reference %q: 64 hex digits are an image ID, not a name", s)
	}
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		rest, p.digest = s[:i], s[i+1:]
		if _, err := digestHex(p.digest); err != nil {
			return parts{}, fmt.Errorf("reference %q: %w", s, err)
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		rest, p.tag = rest[:i], rest[i+1:]
		if err := checkTag(p.tag); err != nil {
			return parts{}, fmt.Errorf("reference %q: %w", s, err)
		}
	}
	p.name = rest
	if rest == "" || len(rest) > maxNameLen {
		return parts{}, fmt.Errorf("reference %q: name must have 1 to %d characters", s, maxNameLen)
	}
	p.path = rest
	if i := strings.IndexByte(rest, '/'); i >= 0 && looksLikeDomain(rest[:i]) {
		p.domain, p.path = rest[:i], rest[i+1:]
		if err := checkDomain(p.domain); err != nil {
			return parts{}, fmt.Errorf("reference %q: %w", s, err)
		}
	}
	if err := checkPath(p.path); err != nil {
		return parts{}, fmt.Errorf("reference %q: %w", s, err)
	}
	return p, nil
}

// looksLikeDomain is Docker's rule for the first name component: a host
// if it has '.' or ':', is localhost, or has upper-case letters (which a
// repository path cannot).
func looksLikeDomain(c string) bool {
	return strings.ContainsAny(c, ".:") || c == localDomain || strings.ToLower(c) != c
}

// checkDomain accepts host[:port], the host being dot-separated labels of
// letters, digits and inner '-', or a bracketed IPv6 address.
func checkDomain(d string) error {
	host, port := d, ""
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 || !isIPv6(d[1:end]) {
			return fmt.Errorf("registry %q: bad IPv6 address", d)
		}
		host, port = "", d[end+1:]
		if port != "" && port[0] != ':' {
			return fmt.Errorf("registry %q: expected :PORT after the address", d)
		}
		port = strings.TrimPrefix(port, ":")
		if port == "" && strings.HasSuffix(d, ":") {
			return fmt.Errorf("registry %q: empty port", d)
		}
	} else if i := strings.IndexByte(d, ':'); i >= 0 {
		host, port = d[:i], d[i+1:]
		if port == "" {
			return fmt.Errorf("registry %q: empty port", d)
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return fmt.Errorf("registry %q: port must be digits", d)
		}
	}
	if host == "" && !strings.HasPrefix(d, "[") {
		return fmt.Errorf("registry %q: empty host", d)
	}
	for _, label := range strings.Split(host, ".") {
		if host == "" {
			break
		}
		if label == "" || !isAlnum(label[0]) || !isAlnum(label[len(label)-1]) {
			return fmt.Errorf("registry %q: host labels start and end with a letter or digit", d)
		}
		for j := 0; j < len(label); j++ {
			if c := label[j]; !isAlnum(c) && c != '-' {
				return fmt.Errorf("registry %q has %q (accepted: A-Z a-z 0-9 - . and :PORT)", d, c)
			}
		}
	}
	return nil
}

// isIPv6 is distribution's loose test: hex digits and colons.
func isIPv6(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') && c != ':' {
			return false
		}
	}
	return true
}

// checkPath accepts Docker's path components: lower-case letters and
// digits, separated inside a component by one '.', one or two '_', or any
// number of '-'.
func checkPath(path string) error {
	for _, comp := range strings.Split(path, "/") {
		if comp == "" || !isLowerAlnum(comp[0]) || !isLowerAlnum(comp[len(comp)-1]) {
			return fmt.Errorf("name component %q must start and end with a lower-case letter or digit", comp)
		}
		for j := 0; j < len(comp); j++ {
			c := comp[j]
			if isLowerAlnum(c) {
				continue
			}
			run := j
			for run < len(comp) && !isLowerAlnum(comp[run]) {
				run++
			}
			sep := comp[j:run]
			if sep != "." && sep != "_" && sep != "__" && strings.Trim(sep, "-") != "" {
				return fmt.Errorf("name component %q has %q (accepted: a-z 0-9, separated by ., _, __ or -)", comp, sep)
			}
			j = run - 1
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
