package registries

import (
	"fmt"
	"strings"
)

// ResolveShortName returns the fully qualified references to try, in
// order, for name. A name that already has a registry host is returned
// as it is. For a short name ("nginx", "library/nginx:1.27",
// "tools@sha256:…") the tag or digest is set aside, and:
//
//   - an alias of the short name gives one candidate, the alias;
//   - otherwise every unqualified-search registry gives one, the registry
//     and the name (Docker Hub's one-component names gain "library/").
//
// The tag or digest set aside is appended to every candidate. dockah
// never prompts: in short-name-mode enforcing, several search registries
// and no alias are an error that lists the candidates, as is a short name
// with neither alias nor search registries.
func (c *Config) ResolveShortName(name string) ([]string, error) {
	if !isShortName(name) {
		return []string{name}, nil
	}
	repo, suffix := splitTagDigest(name)
	if !validRepoPath(repo) || !validSuffix(suffix) {
		return nil, fmt.Errorf("resolve short name %q: not a repository path with an optional tag or digest", name)
	}
	if alias := c.Aliases[repo]; alias != "" {
		return []string{alias + suffix}, nil
	}
	if len(c.UnqualifiedSearchRegistries) == 0 {
		return nil, fmt.Errorf("resolve short name %q: no alias and no unqualified-search-registries in registries.conf (use a fully qualified name)", name)
	}
	candidates := make([]string, 0, len(c.UnqualifiedSearchRegistries))
	for _, reg := range c.UnqualifiedSearchRegistries {
		candidates = append(candidates, normalize(reg+"/"+repo)+suffix)
	}
	if c.ShortNameMode == ShortNameEnforcing && len(candidates) > 1 {
		return nil, fmt.Errorf("resolve short name %q: ambiguous in short-name-mode enforcing, could be %s (add an alias or use a fully qualified name)",
			name, strings.Join(candidates, ", "))
	}
	return candidates, nil
}
