package unitgen

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// fastDecode decodes the TOML that definitions are made of straight into
// nodes, with their lines, about ten times faster than the reference
// decoder (BurntSushi/toml), whose lexer hands every token through a
// channel: the generator runs on every daemon-reload and must stay fast
// with a thousand definitions.
//
// It is deliberately narrow and strict. It takes comments, bare and quoted
// keys, dotted keys, [tables], [[arrays of tables]], one-line basic and
// literal strings, integers, booleans, arrays and one-line inline tables;
// on anything else (multi-line strings, floats, date-times, TOML 1.1
// extensions, and every error) it returns false and the caller decodes the
// file with the reference decoder, which also words the syntax errors. So
// it never has to be right about what is wrong, only about what it takes:
// the fuzz test FuzzFastDecode checks that whatever it takes, the
// reference decoder takes too, with the same values and lines.
func fastDecode(src, file string) (*node, bool) {
	if !utf8.ValidString(src) {
		return nil, false
	}
	p := &fastParser{src: src, line: 1, file: file}
	root := &node{file: file, table: map[string]*node{}, kind: kindHeader}
	cur := root
	for {
		if !p.skipLines() {
			return nil, false
		}
		if p.pos >= len(p.src) {
			return root, true
		}
		ok := false
		if p.src[p.pos] == '[' {
			cur, ok = p.header(root)
		} else {
			ok = p.keyValue(cur)
		}
		if !ok || !p.endOfLine() {
			return nil, false
		}
	}
}

type fastParser struct {
	src   string
	pos   int
	line  int
	file  string
	parts []string // the parts of the last key, reused
	slab  []node   // nodes are allocated a few dozen at a time
	sized bool     // the first slab was sized by the file
}

// newNode returns a fresh node of the file at the current line. Nodes
// come from slabs: the first sized by the file (about a node per 16 bytes
// of definition), the others of 32.
func (p *fastParser) newNode() *node {
	if len(p.slab) == 0 {
		size := 32
		if !p.sized {
			size, p.sized = min(max(len(p.src)/16, 8), 256), true
		}
		p.slab = make([]node, size)
	}
	n := &p.slab[0]
	p.slab = p.slab[1:]
	n.file, n.line = p.file, p.line
	return n
}

func (p *fastParser) newTable(kind tableKind, line int) *node {
	n := p.newNode()
	n.line, n.table, n.kind = line, map[string]*node{}, kind
	return n
}

// header reads [a.b] or [[a.b]] and returns the table that follows.
func (p *fastParser) header(root *node) (*node, bool) {
	line := p.line
	array := strings.HasPrefix(p.src[p.pos:], "[[")
	p.pos += 1 + boolToInt(array)
	p.skipSpace()
	parts, ok := p.key()
	if !ok {
		return nil, false
	}
	closing := "]"
	if array {
		closing = "]]"
	}
	if !strings.HasPrefix(p.src[p.pos:], closing) {
		return nil, false
	}
	p.pos += len(closing)
	t := root
	for _, k := range parts[:len(parts)-1] {
		child := t.table[k]
		switch {
		case child == nil:
			child = p.newTable(kindImplicit, line)
			t.table[k] = child
		case child.kind == kindTables:
			child = child.list[len(child.list)-1]
		case child.kind != kindImplicit && child.kind != kindHeader:
			return nil, false
		}
		t = child
	}
	last := parts[len(parts)-1]
	child := t.table[last]
	switch {
	case array && child == nil:
		child = p.newNode()
		child.line, child.array, child.kind = line, true, kindTables
		t.table[last] = child
		fallthrough
	case array && child.kind == kindTables:
		elem := p.newTable(kindHeader, line)
		child.list = append(child.list, elem)
		return elem, true
	case !array && child == nil:
		child = p.newTable(kindHeader, line)
		t.table[last] = child
		return child, true
	case !array && child.kind == kindImplicit:
		child.kind, child.line = kindHeader, line
		return child, true
	}
	return nil, false
}

// keyValue reads key = value into the table t.
func (p *fastParser) keyValue(t *node) bool {
	line := p.line
	parts, ok := p.key()
	if !ok || p.pos >= len(p.src) || p.src[p.pos] != '=' {
		return false
	}
	p.pos++
	p.skipSpace()
	for _, k := range parts[:len(parts)-1] {
		child := t.table[k]
		if child == nil {
			child = p.newTable(kindDotted, line)
			t.table[k] = child
		} else if child.kind != kindDotted {
			return false
		}
		t = child
	}
	last := parts[len(parts)-1]
	if t.table[last] != nil {
		return false
	}
	v, ok := p.value()
	if !ok {
		return false
	}
	v.line = line
	t.table[last] = v
	return true
}

// key reads a dotted key and the blanks after it. The parts it returns
// are good until the next call.
func (p *fastParser) key() ([]string, bool) {
	parts := p.parts[:0]
	defer func() { p.parts = parts[:0] }()
	for {
		var part string
		var ok bool
		switch {
		case p.pos >= len(p.src):
			return nil, false
		case p.src[p.pos] == '"':
			part, ok = p.basicString()
		case p.src[p.pos] == '\'':
			part, ok = p.literalString()
		default:
			start := p.pos
			for p.pos < len(p.src) && isBareKeyByte(p.src[p.pos]) {
				p.pos++
			}
			part, ok = p.src[start:p.pos], p.pos > start
		}
		if !ok {
			return nil, false
		}
		parts = append(parts, part)
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '.' {
			return parts, true
		}
		p.pos++
		p.skipSpace()
	}
}

func isBareKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// value reads one value.
func (p *fastParser) value() (*node, bool) {
	if p.pos >= len(p.src) {
		return nil, false
	}
	n := p.newNode()
	var ok bool
	switch c := p.src[p.pos]; {
	case strings.HasPrefix(p.src[p.pos:], `"""`) || strings.HasPrefix(p.src[p.pos:], "'''"):
		return nil, false
	case c == '"':
		n.value, ok = p.basicString()
	case c == '\'':
		n.value, ok = p.literalString()
	case c == '[':
		ok = p.array(n)
	case c == '{':
		ok = p.inlineTable(n)
	default:
		n.value, ok = p.scalar()
	}
	return n, ok
}

// array reads [ v, v, ... ] into n; it may span lines.
func (p *fastParser) array(n *node) bool {
	p.pos++
	n.array, n.list = true, []*node{}
	for {
		if !p.skipLines() || p.pos >= len(p.src) {
			return false
		}
		if p.src[p.pos] == ']' {
			p.pos++
			return true
		}
		e, ok := p.value()
		if !ok || !p.skipLines() || p.pos >= len(p.src) {
			return false
		}
		n.list = append(n.list, e)
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return true
		default:
			return false
		}
	}
}

// inlineTable reads { k = v, ... } on one line into n.
func (p *fastParser) inlineTable(n *node) bool {
	p.pos++
	n.table, n.kind = map[string]*node{}, kindInline
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return true
	}
	for {
		if !p.keyValue(n) {
			return false
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return false
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			return true
		default:
			return false
		}
	}
}

// scalar reads a boolean or an integer; anything else (floats,
// date-times) is left to the reference decoder.
func (p *fastParser) scalar() (any, bool) {
	start := p.pos
	for p.pos < len(p.src) && !strings.ContainsRune(" \t\r\n,]}#", rune(p.src[p.pos])) {
		p.pos++
	}
	tok := p.src[start:p.pos]
	switch tok {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return parseTOMLInt(tok)
}

// parseTOMLInt parses a TOML integer: decimal with an optional sign and
// no leading zero, or 0x, 0o, 0b without a sign; "_" only between digits.
func parseTOMLInt(tok string) (any, bool) {
	base, digits := 10, tok
	if len(tok) > 2 && tok[0] == '0' && strings.IndexByte("xob", tok[1]) >= 0 {
		base, digits = map[byte]int{'x': 16, 'o': 8, 'b': 2}[tok[1]], tok[2:]
	}
	body := strings.TrimLeft(digits, "+-")
	switch {
	case base != 10 && body != digits,
		len(digits)-len(body) > 1,
		body == "",
		base == 10 && len(body) > 1 && body[0] == '0',
		body[0] == '_' || body[len(body)-1] == '_' || strings.Contains(body, "__"):
		return nil, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(digits, "_", ""), base, 64)
	return v, err == nil
}

// basicString reads "..." on one line, with TOML 1.0 escapes.
func (p *fastParser) basicString() (string, bool) {
	p.pos++
	start := p.pos
	var b *strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			if b == nil {
				return p.src[start : p.pos-1], true
			}
			return b.String(), true
		case c == '\\':
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(p.src[start:p.pos])
			}
			if !p.escape(b) {
				return "", false
			}
			continue
		case isTOMLControl(c):
			return "", false
		}
		if b != nil {
			b.WriteByte(c)
		}
		p.pos++
	}
	return "", false
}

// escape decodes the escape at p.pos into b.
func (p *fastParser) escape(b *strings.Builder) bool {
	if p.pos+1 >= len(p.src) {
		return false
	}
	c := p.src[p.pos+1]
	if i := strings.IndexByte(`btnfr"\`, c); i >= 0 {
		b.WriteByte("\b\t\n\f\r\"\\"[i])
		p.pos += 2
		return true
	}
	n := map[byte]int{'u': 4, 'U': 8}[c]
	if n == 0 || p.pos+2+n > len(p.src) {
		return false
	}
	r, err := strconv.ParseUint(p.src[p.pos+2:p.pos+2+n], 16, 32)
	if err != nil || !utf8.ValidRune(rune(r)) {
		return false
	}
	b.WriteRune(rune(r))
	p.pos += 2 + n
	return true
}

// literalString reads '...' on one line.
func (p *fastParser) literalString() (string, bool) {
	p.pos++
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '\'' {
			p.pos++
			return p.src[start : p.pos-1], true
		}
		if isTOMLControl(c) {
			return "", false
		}
		p.pos++
	}
	return "", false
}

// isTOMLControl reports the control characters TOML forbids in strings
// and comments: all but tab.
func isTOMLControl(c byte) bool { return c < 0x20 && c != '\t' || c == 0x7f }

// skipSpace skips blanks.
func (p *fastParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

// skipLines skips blanks, comments and line breaks; false on a bad
// comment or a lone carriage return.
func (p *fastParser) skipLines() bool {
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			return true
		}
		switch p.src[p.pos] {
		case '#':
			if !p.comment() {
				return false
			}
		case '\n', '\r':
			if !p.newline() {
				return false
			}
		default:
			return true
		}
	}
}

// endOfLine reads blanks, a comment and the line break (or the end) that
// must follow a header or a key/value.
func (p *fastParser) endOfLine() bool {
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '#' && !p.comment() {
		return false
	}
	return p.pos >= len(p.src) || p.newline()
}

// comment skips a comment up to the line break.
func (p *fastParser) comment() bool {
	for p.pos < len(p.src) && p.src[p.pos] != '\n' && p.src[p.pos] != '\r' {
		if p.src[p.pos] != '\t' && isTOMLControl(p.src[p.pos]) {
			return false
		}
		p.pos++
	}
	return true
}

// newline reads "\n" or "\r\n".
func (p *fastParser) newline() bool {
	if strings.HasPrefix(p.src[p.pos:], "\r\n") {
		p.pos++
	}
	if p.pos >= len(p.src) || p.src[p.pos] != '\n' {
		return false
	}
	p.pos++
	p.line++
	return true
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
