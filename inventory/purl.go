package inventory

import (
	"net/url"
	"sort"
	"strings"
)

// purl builds a package URL: pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS,
// each part percent-encoded as the purl spec says (a namespace keeps its
// slashes between segments; qualifiers are sorted by key, empty ones
// left out).
func purl(typ, namespace, name, version string, qualifiers map[string]string) string {
	var b strings.Builder
	b.WriteString("pkg:")
	b.WriteString(typ)
	b.WriteByte('/')
	if namespace != "" {
		for _, seg := range strings.Split(namespace, "/") {
			b.WriteString(escapePURL(seg))
			b.WriteByte('/')
		}
	}
	b.WriteString(escapePURL(name))
	if version != "" {
		b.WriteByte('@')
		b.WriteString(escapePURL(version))
	}
	var keys []string
	for k, v := range qualifiers {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(escapePURL(qualifiers[k]))
	}
	return b.String()
}

// escapePURL percent-encodes what a purl part may not hold as it is
// (':' included, which the spec wants encoded in versions such as a
// Debian epoch).
func escapePURL(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

// goPURL is the purl of a Go module: its path's first elements are the
// namespace.
func goPURL(module, version string) string {
	ns, name := "", module
	if i := strings.LastIndexByte(module, '/'); i >= 0 {
		ns, name = module[:i], module[i+1:]
	}
	return purl("golang", ns, name, version, nil)
}

// qualifier is the purl "distro" qualifier: ID-VERSION_ID.
func (d Distro) qualifier() string {
	switch {
	case d.ID == "":
		return ""
	case d.VersionID == "":
		return d.ID
	}
	return d.ID + "-" + d.VersionID
}
