package registries

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/dockah/dockah/internal/tomldiag"
)

// The keys each table accepts, for unknown-key diagnostics.
var (
	topKeys      = []string{"unqualified-search-registries", "short-name-mode", "registry", "aliases", "credential-helpers", "additional-layer-store-auth-helper"}
	registryKeys = []string{"prefix", "location", "insecure", "blocked", "mirror-by-digest-only", "mirror"}
	mirrorKeys   = []string{"location", "insecure", "pull-from-mirror"}
)

// MaxFileSize bounds the size of a file Parse accepts; real ones are a
// few KiB.
const MaxFileSize = 1 << 20

// Parse reads one registries.conf file in the version 2 format; name is
// the file's name in diagnostics. Every problem of the file is reported
// at once, as *Diagnostic values joined with errors.Join. The global keys
// credential-helpers and additional-layer-store-auth-helper are accepted
// for compatibility with Podman's files and ignored.
func Parse(name string, data []byte) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, &Diagnostic{File: name, Msg: fmt.Sprintf("%d bytes is too large for a registries configuration", len(data)), Accepted: fmt.Sprintf("at most %d bytes", MaxFileSize)}
	}
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return nil, syntaxError(name, err)
	}
	// Shallow: a key in an inline table, or an array's element, is
	// reported on the line of the key that holds it.
	p := &parser{file: name, lines: tomldiag.ScanShallow(string(data))}
	cfg := p.config(tree)
	if len(p.diags) > 0 {
		return nil, joinDiagnostics(p.diags)
	}
	return cfg, nil
}

// parser walks a decoded file and collects its diagnostics.
type parser struct {
	file  string
	lines tomldiag.Lines
	diags []*Diagnostic
}

// node is a position in the decoded tree: its path in the line index and
// its dotted key for diagnostics.
type node struct{ path, key string }

func (n node) child(k string) node {
	shown := k
	if !isBareKeyString(k) {
		shown = strconv.Quote(k)
	}
	if n.key != "" {
		shown = n.key + "." + shown
	}
	return node{path: tomldiag.Path(n.path, k), key: shown}
}

func (n node) elem(i int) node { return node{path: tomldiag.Path(n.path, strconv.Itoa(i)), key: n.key} }

func (p *parser) problem(n node, msg, accepted string) {
	p.diags = append(p.diags, &Diagnostic{File: p.file, Line: p.lines.Line(n.path), Key: n.key, Msg: msg, Accepted: accepted})
}

func (p *parser) unknown(n node, accepted []string) {
	p.problem(n, "unknown key", strings.Join(accepted, ", "))
}

func (p *parser) config(tree map[string]any) *Config {
	cfg := &Config{}
	root := node{}
	for _, k := range sortedKeys(tree) {
		n, v := root.child(k), tree[k]
		switch k {
		case "unqualified-search-registries":
			cfg.UnqualifiedSearchRegistries = p.searchRegistries(n, v)
		case "short-name-mode":
			cfg.ShortNameMode = p.shortNameMode(n, v)
		case "registry":
			cfg.Registries = p.registries(n, v)
		case "aliases":
			cfg.Aliases = p.aliases(n, v)
		case "credential-helpers":
			p.strs(n, v)
		case "additional-layer-store-auth-helper":
			p.str(n, v)
		case "registries":
			p.problem(n, "the v1 format ([registries.search], [registries.insecure], [registries.block]) is not supported",
				"the v2 format of containers-registries.conf(5): unqualified-search-registries, [[registry]] with prefix, location, insecure, blocked")
		default:
			p.unknown(n, topKeys)
		}
	}
	return cfg
}

func (p *parser) searchRegistries(n node, v any) []string {
	list, ok := p.strs(n, v)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, h := range list {
		h = strings.TrimRight(h, "/")
		if !validHost(h) {
			p.problem(n, fmt.Sprintf("%q is not a registry host", h), "host[:port]")
			continue
		}
		out = append(out, h)
	}
	return out
}

func (p *parser) shortNameMode(n node, v any) ShortNameMode {
	s, ok := p.str(n, v)
	switch m := ShortNameMode(s); m {
	case "", ShortNameEnforcing, ShortNamePermissive, ShortNameDisabled:
		return m
	}
	if ok {
		p.problem(n, fmt.Sprintf("%q is not a mode", s), "enforcing, permissive, disabled")
	}
	return ""
}

// registries reads the [[registry]] tables; of several with the same
// prefix the first counts, as in containers/image.
func (p *parser) registries(n node, v any) []Registry {
	seen := map[string]bool{}
	var regs []Registry
	for i, t := range p.tables(n, v) {
		r, ok := p.registry(n.elem(i), t)
		if ok && !seen[r.Prefix] {
			seen[r.Prefix] = true
			regs = append(regs, r)
		}
	}
	sort.Slice(regs, func(i, j int) bool { return regs[i].Prefix < regs[j].Prefix })
	return regs
}

func (p *parser) registry(n node, t map[string]any) (Registry, bool) {
	var r Registry
	for _, k := range sortedKeys(t) {
		c, v := n.child(k), t[k]
		switch k {
		case "prefix":
			r.Prefix, _ = p.str(c, v)
		case "location":
			r.Location, _ = p.str(c, v)
		case "insecure":
			r.Insecure = p.boolean(c, v)
		case "blocked":
			r.Blocked = p.boolean(c, v)
		case "mirror-by-digest-only":
			r.MirrorByDigestOnly = p.boolean(c, v)
		case "mirror":
			r.Mirrors = p.mirrors(c, v)
		case "pull-from-mirror":
			p.problem(c, "only a [[registry.mirror]] table may set pull-from-mirror", "")
		default:
			p.unknown(c, registryKeys)
		}
	}
	return r, p.checkRegistry(n, &r)
}

// checkRegistry validates and completes the prefix and location of r.
func (p *parser) checkRegistry(n node, r *Registry) bool {
	before := len(p.diags)
	r.Prefix = strings.TrimRight(r.Prefix, "/")
	r.Location = strings.TrimRight(r.Location, "/")
	if r.Location != "" {
		p.reference(n.child("location"), r.Location)
	}
	switch {
	case r.Prefix == "" && r.Location == "":
		p.problem(n.child("location"), "a [[registry]] table needs a location or a prefix", `location = "host[:port][/path]"`)
	case r.Prefix == "":
		r.Prefix = r.Location
	case isWildcard(r.Prefix):
		if !validHost(r.Prefix[2:]) || strings.Contains(r.Prefix, ":") {
			p.problem(n.child("prefix"), fmt.Sprintf("%q is not a wildcard prefix", r.Prefix), `"*." and a host name, without port or path`)
		}
	case r.Location == "":
		p.problem(n.child("location"), "missing: only a wildcard prefix (*.example.com) may go without a location", `location = "host[:port][/path]"`)
	default:
		p.reference(n.child("prefix"), r.Prefix)
	}
	if r.MirrorByDigestOnly {
		for _, m := range r.Mirrors {
			if m.PullFromMirror != "" {
				p.problem(n.child("mirror-by-digest-only"), "cannot be combined with pull-from-mirror in the registry's mirrors", "one of the two")
				break
			}
		}
	}
	return len(p.diags) == before
}

// reference checks a prefix or location: host[:port][/path][:tag|@digest].
func (p *parser) reference(n node, s string) {
	if strings.Contains(s, "://") {
		p.problem(n, fmt.Sprintf("%q has a URL scheme", s), "host[:port][/path]")
		return
	}
	host, rest, hasPath := strings.Cut(s, "/")
	repo, suffix := splitTagDigest(rest)
	if !validHost(host) || hasPath && (!validRepoPath(repo) || !validSuffix(suffix)) {
		p.problem(n, fmt.Sprintf("%q is not a registry or repository", s), "host[:port][/path][:tag|@digest]")
	}
}

func (p *parser) mirrors(n node, v any) []Mirror {
	var ms []Mirror
	for i, t := range p.tables(n, v) {
		e := n.elem(i)
		var m Mirror
		for _, k := range sortedKeys(t) {
			c := e.child(k)
			switch k {
			case "location":
				m.Location, _ = p.str(c, t[k])
			case "insecure":
				m.Insecure = p.boolean(c, t[k])
			case "pull-from-mirror":
				m.PullFromMirror = p.pullFromMirror(c, t[k])
			default:
				p.unknown(c, mirrorKeys)
			}
		}
		m.Location = strings.TrimRight(m.Location, "/")
		if m.Location == "" {
			p.problem(e.child("location"), "a mirror needs a location", `location = "host[:port][/path]"`)
		} else {
			p.reference(e.child("location"), m.Location)
		}
		ms = append(ms, m)
	}
	return ms
}

func (p *parser) pullFromMirror(n node, v any) PullFromMirror {
	s, ok := p.str(n, v)
	switch m := PullFromMirror(s); m {
	case "", PullAll, PullDigestOnly, PullTagOnly:
		return m
	}
	if ok {
		p.problem(n, fmt.Sprintf("%q is not a pull-from-mirror value", s), "all, digest-only, tag-only")
	}
	return ""
}

func (p *parser) aliases(n node, v any) map[string]string {
	t, ok := v.(map[string]any)
	if !ok {
		p.problem(n, "want a table, found "+typeName(v), `[aliases] with "short-name" = "host/path" lines`)
		return nil
	}
	out := make(map[string]string, len(t))
	for _, name := range sortedKeys(t) {
		c := n.child(name)
		value, ok := p.str(c, t[name])
		if !ok {
			continue
		}
		if repo, suffix := splitTagDigest(name); !isShortName(name) || suffix != "" || !validRepoPath(repo) {
			p.problem(c, fmt.Sprintf("%q is not a short name", name), "a repository path without registry, tag or digest")
			continue
		}
		if value != "" && !validAliasTarget(value) {
			p.problem(c, fmt.Sprintf("%q is not a fully qualified repository", value), `host/path without tag or digest, or "" to erase the alias`)
			continue
		}
		out[name] = value
	}
	return out
}

// validAliasTarget reports whether s is host/path without tag or digest.
func validAliasTarget(s string) bool {
	host, path, ok := strings.Cut(s, "/")
	return ok && !isShortName(s) && validHost(host) && validRepoPath(path)
}

func (p *parser) str(n node, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		p.problem(n, "want a string, found "+typeName(v), "")
	}
	return s, ok
}

func (p *parser) boolean(n node, v any) bool {
	b, ok := v.(bool)
	if !ok {
		p.problem(n, "want a boolean, found "+typeName(v), "true, false")
	}
	return b
}

func (p *parser) strs(n node, v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		p.problem(n, "want an array of strings, found "+typeName(v), "")
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			p.problem(n, "want an array of strings, found an element that is "+typeName(e), "")
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// tables returns an array of tables, written [[x]] or x = [{...}].
func (p *parser) tables(n node, v any) []map[string]any {
	switch v := v.(type) {
	case []map[string]any:
		return v
	case []any:
		out := make([]map[string]any, 0, len(v))
		for _, e := range v {
			t, ok := e.(map[string]any)
			if !ok {
				p.problem(n, "want an array of tables, found an element that is "+typeName(e), "")
				return nil
			}
			out = append(out, t)
		}
		return out
	}
	p.problem(n, "want an array of tables, found "+typeName(v), "")
	return nil
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isBareKeyString(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isBareKey(k[i]) {
			return false
		}
	}
	return true
}

func isBareKey(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
