package unitgen

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dockah/dockah/internal/tomldiag"
)

// converter turns a merged tree into a Definition and collects every
// problem on the way, so that a file's problems are reported together.
type converter struct {
	unit     string // "web", "web@" or "web@blue", for diagnostics
	instance string // the instance for %i; empty for a template or plain
	template bool
	diags    []*Diagnostic
}

// fail records a problem with the value n at key.
func (c *converter) fail(n *node, key, accepted, format string, args ...any) {
	c.diags = append(c.diags, &Diagnostic{Unit: c.unit, Diagnostic: tomldiag.Diagnostic{
		File: n.file, Line: n.line, Key: key,
		Msg: fmt.Sprintf(format, args...), Accepted: accepted,
	}})
}

// field is one key of a table and how to convert its value into T.
type field[T any] struct {
	key string
	set func(c *converter, n *node, key string, out *T)
}

// fieldKey is a key in a table.
type fieldKey struct{ table, key string }

// fieldPaths holds the dotted keys of the fields of every table ("container"
// and "image" make "container.image"), joined once rather than for every
// definition; withPrefix fills it as the tables are made.
var fieldPaths = map[fieldKey]string{}

// withPrefix registers the dotted keys of the fields of the table prefix.
func withPrefix[T any](prefix string, fields []field[T]) []field[T] {
	for _, f := range fields {
		fieldPaths[fieldKey{prefix, f.key}] = joinPath(prefix, f.key)
	}
	return fields
}

// fieldPath returns the dotted key of a field.
func fieldPath(table, key string) string {
	if p, ok := fieldPaths[fieldKey{table, key}]; ok {
		return p
	}
	return joinPath(table, key)
}

// walk converts the table n at key into out, field by field, and reports
// keys that fields does not know.
func walk[T any](c *converter, n *node, key string, fields []field[T], out *T) {
	if n.table == nil {
		c.fail(n, key, "a table", "expected a table, got %s", describe(n))
		return
	}
	for k, v := range n.table {
		i := fieldIndex(fields, k)
		if i < 0 {
			c.unknown(v, key, k, fieldKeys(fields))
			continue
		}
		fields[i].set(c, v, fieldPath(key, fields[i].key), out)
	}
}

func fieldIndex[T any](fields []field[T], key string) int {
	for i, f := range fields {
		if f.key == key {
			return i
		}
	}
	return -1
}

func fieldKeys[T any](fields []field[T]) []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

// unknown reports a key the table does not have, with the closest known
// key, or the table the key belongs to when it is misplaced.
func (c *converter) unknown(n *node, table, key string, known []string) {
	msg := "unknown key"
	if table == "systemd" && strings.EqualFold(key, "install") {
		msg = "unknown key; dockah writes no [Install] section: service.wanted_by starts the container at boot"
	} else if home := homeTable(key); home != "" && home != table {
		msg = fmt.Sprintf("unknown key; %s belongs in [%s]", key, home)
	} else if best := closest(key, known); best != "" {
		msg = fmt.Sprintf("unknown key; did you mean %q?", best)
	}
	c.fail(n, joinPath(table, key), strings.Join(known, ", "), "%s", msg)
}

// closest returns the known key nearest to key in edit distance, if near
// enough to be a typo, or one that key begins ("memory" for memory_max).
func closest(key string, known []string) string {
	key = strings.ToLower(key)
	best, bestDist := "", len(key)/3+2
	for _, k := range known {
		d := editDistance(key, k)
		if len(key) >= 4 && strings.HasPrefix(k, key) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// str returns a string value with %i and %% expanded (see expand).
func (c *converter) str(n *node, key string) (string, bool) {
	s, ok := n.value.(string)
	if !ok {
		c.fail(n, key, "a string", "expected a string, got %s", describe(n))
		return "", false
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		c.fail(n, key, "UTF-8 text without NUL", "%s is not valid text", quote(s))
		return "", false
	}
	return c.expand(n, key, s)
}

// line returns a string value that goes into a unit file: no control
// characters, since a newline would start a directive of its own.
func (c *converter) line(n *node, key string) (string, bool) {
	s, ok := c.str(n, key)
	if ok && hasControl(s) {
		c.fail(n, key, "text without control characters", "%s contains a control character", quote(s))
		return "", false
	}
	return s, ok
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// expand applies the specifiers of a definition: "%i" is the instance of a
// template and "%%" a literal "%"; any other "%" is literal. A template
// keeps both as written for Render; a plain definition rejects "%i".
func (c *converter) expand(n *node, key, s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	if !c.template && c.instance == "" && strings.Contains(strings.ReplaceAll(s, "%%", ""), "%i") {
		c.fail(n, key, `"%i" in templates (NAME@.toml) only, "%%" for a literal "%"`, "%s uses %%i, but this definition is not a template", quote(s))
		return "", false
	}
	if c.template {
		return s, true
	}
	return expandSpecifiers(s, c.instance), true
}

// expandSpecifiers replaces "%i" by instance and "%%" by "%".
func expandSpecifiers(s, instance string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) {
			switch s[i+1] {
			case 'i':
				b.WriteString(instance)
				i++
				continue
			case '%':
				b.WriteByte('%')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// probe returns the text that checks see: for a template, the value with
// a stand-in instance "0", so that "808%i" checks as a port.
func (c *converter) probe(s string) string {
	if c.template && strings.Contains(s, "%") {
		return expandSpecifiers(s, "0")
	}
	return s
}

// boolean returns a boolean value.
func (c *converter) boolean(n *node, key string) (bool, bool) {
	b, ok := n.value.(bool)
	if !ok {
		c.fail(n, key, "true or false", "expected a boolean, got %s", describe(n))
	}
	return b, ok
}

// integer returns an integer value within [lo, hi].
func (c *converter) integer(n *node, key string, lo, hi int64) (int64, bool) {
	v, ok := n.value.(int64)
	if !ok || v < lo || v > hi {
		c.fail(n, key, fmt.Sprintf("an integer from %d to %d", lo, hi), "expected an integer from %d to %d, got %s", lo, hi, describe(n))
		return 0, false
	}
	return v, true
}

// strings returns an array of strings, each checked by check when given
// (check reports and returns false on a bad element).
func (c *converter) strings(n *node, key, accepted string, check func(e *node, s string) (string, bool)) ([]string, bool) {
	if !n.array {
		c.fail(n, key, "an array of "+accepted, "expected an array, got %s", describe(n))
		return nil, false
	}
	out := make([]string, 0, len(n.list))
	good := true
	for _, e := range n.list {
		s, ok := c.line(e, key)
		if ok && check != nil {
			s, ok = check(e, s)
		}
		good = good && ok
		out = append(out, s)
	}
	return out, good
}

// oneOf returns a string value that must be one of choices.
func (c *converter) oneOf(n *node, key string, choices ...string) (string, bool) {
	s, ok := c.str(n, key)
	if !ok {
		return "", false
	}
	for _, ch := range choices {
		if s == ch {
			return s, true
		}
	}
	c.fail(n, key, quoteAll(choices), "%s is not one of the choices", quote(s))
	return "", false
}

// quoteAll joins quoted choices: "a", "b" or "c".
func quoteAll(choices []string) string {
	q := make([]string, len(choices))
	for i, ch := range choices {
		q[i] = `"` + ch + `"`
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
