package registries

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBlocked is wrapped by Endpoints when the [[registry]] table governing
// a reference says blocked = true.
var ErrBlocked = errors.New("blocked by registries.conf")

// ShortNameMode is the short-name-mode setting. The empty mode means the
// files did not set it, which containers-registries.conf(5) defines as
// permissive.
type ShortNameMode string

// The short-name modes of containers-registries.conf(5).
const (
	// ShortNameEnforcing refuses a short name that is neither aliased nor
	// unambiguous (exactly one unqualified-search registry).
	ShortNameEnforcing ShortNameMode = "enforcing"
	// ShortNamePermissive tries every unqualified-search registry.
	ShortNamePermissive ShortNameMode = "permissive"
	// ShortNameDisabled tries every unqualified-search registry.
	ShortNameDisabled ShortNameMode = "disabled"
)

// PullFromMirror restricts the pulls a mirror serves. The empty value is
// PullAll.
type PullFromMirror string

// The pull-from-mirror values of containers-registries.conf(5).
const (
	// PullAll uses the mirror for pulls by tag and by digest.
	PullAll PullFromMirror = "all"
	// PullDigestOnly uses the mirror only for pulls by digest.
	PullDigestOnly PullFromMirror = "digest-only"
	// PullTagOnly uses the mirror only for pulls by tag.
	PullTagOnly PullFromMirror = "tag-only"
)

// Config is a registries configuration: one file (Parse) or a main file
// merged with its drop-ins (Load).
type Config struct {
	// UnqualifiedSearchRegistries are the host[:port] registries tried for
	// a short name, in order. Nil when no file set the key; an explicitly
	// empty list is empty but not nil, so that a drop-in can clear it.
	UnqualifiedSearchRegistries []string
	// ShortNameMode is empty when no file set it.
	ShortNameMode ShortNameMode
	// Registries are the [[registry]] tables, one per prefix, sorted by
	// prefix.
	Registries []Registry
	// Aliases maps short names to fully qualified repositories. In the
	// Config of a single file an empty value is an erasure, applied to the
	// earlier files when Load merges; a loaded Config holds none.
	Aliases map[string]string
}

// Registry is a [[registry]] table.
type Registry struct {
	// Prefix selects the references the table governs: host[:port],
	// host[:port]/path, a repository with a tag or digest, or
	// "*.example.com" for every subdomain of example.com. It defaults to
	// Location.
	Prefix string
	// Location replaces Prefix in the references pulled. It is empty only
	// for a wildcard prefix, which rewrites nothing.
	Location string
	// Insecure allows plain HTTP and unverified TLS for Location.
	Insecure bool
	// Blocked forbids pulling the references the table governs.
	Blocked bool
	// MirrorByDigestOnly (mirror-by-digest-only) uses the mirrors only for
	// pulls by digest; a file may not combine it with pull-from-mirror.
	MirrorByDigestOnly bool
	// Mirrors are tried in order before Location.
	Mirrors []Mirror
}

// Mirror is a [[registry.mirror]] table.
type Mirror struct {
	// Location replaces the registry's Prefix in the references pulled
	// from this mirror.
	Location string
	// Insecure allows plain HTTP and unverified TLS for Location.
	Insecure bool
	// PullFromMirror restricts the pulls this mirror serves.
	PullFromMirror PullFromMirror
}

// Endpoint is one place to pull a reference from.
type Endpoint struct {
	// Reference is the reference to pull there, rewritten from the
	// requested one.
	Reference string
	// Insecure allows plain HTTP and unverified TLS.
	Insecure bool
	// Mirror is true for a mirror, false for the primary location.
	Mirror bool
}

// Find returns the [[registry]] table governing a fully qualified
// reference ("host[:port]/path[:tag][@digest]"): the one with the longest
// matching prefix. A prefix matches when the reference equals it or
// continues it with '/', or with ':' or '@' after a repository path; a
// host prefix therefore never matches the same host with another port.
// "*.example.com" matches a reference whose host ends in ".example.com",
// at any depth; an exact host of the same length wins over a wildcard.
// Docker Hub references are normalized first (index.docker.io and
// registry-1.docker.io are docker.io, and docker.io/alpine is
// docker.io/library/alpine), so prefixes name docker.io/library/....
func (c *Config) Find(reference string) (Registry, bool) {
	reg, _, ok := c.find(normalize(reference))
	return reg, ok
}

// find returns the governing table and how many bytes of ref its prefix
// matched.
func (c *Config) find(ref string) (Registry, int, bool) {
	best, bestLen, bestMatch := -1, 0, 0
	for i, r := range c.Registries {
		n := matchPrefix(ref, r.Prefix)
		if n < 0 {
			continue
		}
		better := best < 0 || len(r.Prefix) > bestLen ||
			len(r.Prefix) == bestLen && isWildcard(c.Registries[best].Prefix) && !isWildcard(r.Prefix)
		if better {
			best, bestLen, bestMatch = i, len(r.Prefix), n
		}
	}
	if best < 0 {
		return Registry{}, 0, false
	}
	return c.Registries[best], bestMatch, true
}

// Endpoints returns where to pull reference from, in the order to try:
// the mirrors that serve this kind of pull (byDigest says whether the
// reference names a digest), then the primary location. A reference no
// table governs gives one endpoint, itself, secure. A blocked reference
// gives an error wrapping ErrBlocked.
func (c *Config) Endpoints(reference string, byDigest bool) ([]Endpoint, error) {
	ref := normalize(reference)
	reg, n, ok := c.find(ref)
	if !ok {
		return []Endpoint{{Reference: ref}}, nil
	}
	if reg.Blocked {
		return nil, fmt.Errorf("pull %s: %w (prefix %q)", ref, ErrBlocked, reg.Prefix)
	}
	var eps []Endpoint
	for _, m := range reg.Mirrors {
		if !mirrorServes(reg, m, byDigest) {
			continue
		}
		eps = append(eps, Endpoint{Reference: rewrite(ref, n, m.Location), Insecure: m.Insecure, Mirror: true})
	}
	return append(eps, Endpoint{Reference: rewrite(ref, n, reg.Location), Insecure: reg.Insecure}), nil
}

// mirrorServes reports whether mirror m of reg is used for a pull by
// digest (byDigest) or by tag.
func mirrorServes(reg Registry, m Mirror, byDigest bool) bool {
	if reg.MirrorByDigestOnly {
		return byDigest
	}
	switch m.PullFromMirror {
	case PullDigestOnly:
		return byDigest
	case PullTagOnly:
		return !byDigest
	}
	return true
}

// rewrite replaces the first n bytes of ref, which a prefix matched, by
// location; an empty location (a wildcard table) keeps ref.
func rewrite(ref string, n int, location string) string {
	if location == "" {
		return ref
	}
	return location + ref[n:]
}

// matchPrefix returns how many bytes of ref prefix matches, or -1.
func matchPrefix(ref, prefix string) int {
	if isWildcard(prefix) {
		return matchWildcard(ref, prefix[1:])
	}
	if prefix == "" || !strings.HasPrefix(ref, prefix) {
		return -1
	}
	if len(ref) == len(prefix) {
		return len(prefix)
	}
	switch ref[len(prefix)] {
	case '/':
		return len(prefix)
	case ':', '@':
		// After a bare host a ':' is a port and an '@' is not a
		// reference at all: only a repository path continues with a tag
		// or a digest.
		if strings.Contains(prefix, "/") {
			return len(prefix)
		}
	}
	return -1
}

// matchWildcard matches the host of ref against suffix (".example.com"):
// the host name, without its port, must end in suffix after at least one
// label. It returns the length of the host name.
func matchWildcard(ref, suffix string) int {
	host, _, _ := strings.Cut(ref, "/")
	name := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host, "]") {
		name = host[:i]
	}
	if len(name) <= len(suffix) || !strings.HasSuffix(name, suffix) {
		return -1
	}
	return len(name)
}

// isWildcard reports whether prefix is of the form "*.example.com".
func isWildcard(prefix string) bool { return strings.HasPrefix(prefix, "*.") }
