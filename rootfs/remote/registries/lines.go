package registries

import (
	"strconv"
	"strings"
)

// lineIndex maps the path of every key of a TOML document to the line
// that defines it. A path is its keys, and the index of every element of
// an array of tables, each after a NUL: the location of the second
// [[registry]] is "\x00registry\x001\x00location".
//
// BurntSushi/toml reports lines for syntax errors only (and, for values
// in arrays of tables, the line of the last table); this index gives the
// lines of the checks done after decoding.
type lineIndex map[string]int

// line returns the line of path, or of its nearest ancestor that has one,
// or 0.
func (ix lineIndex) line(path string) int {
	for {
		if l, ok := ix[path]; ok {
			return l
		}
		i := strings.LastIndexByte(path, 0)
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

// scanLines indexes the keys of src. It never fails: on input it does
// not understand it skips a byte and carries on, so a wrong line is the
// worst outcome. Keys inside inline tables are not indexed: they get
// the line of the key holding the table.
func scanLines(src string) lineIndex {
	s := &lineScanner{src: src, line: 1, lines: lineIndex{}, arrays: map[string]int{}}
	table := ""
	for {
		s.skipBlank(true)
		if s.pos >= len(s.src) {
			return s.lines
		}
		start := s.pos
		if s.src[s.pos] == '[' {
			table = s.header()
		} else {
			s.keyValue(table)
		}
		s.skipLine()
		if s.pos == start {
			s.next()
		}
	}
}

type lineScanner struct {
	src    string
	pos    int
	line   int
	lines  lineIndex
	arrays map[string]int // path of an array of tables -> tables so far
}

// next moves past one byte, counting lines.
func (s *lineScanner) next() {
	if s.src[s.pos] == '\n' {
		s.line++
	}
	s.pos++
}

func (s *lineScanner) peek(prefix string) bool { return strings.HasPrefix(s.src[s.pos:], prefix) }

// skipBlank skips spaces and tabs, comments, and with newlines also line
// ends.
func (s *lineScanner) skipBlank(newlines bool) {
	for s.pos < len(s.src) {
		switch c := s.src[s.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || newlines && c == '\n':
			s.next()
		case c == '#':
			for s.pos < len(s.src) && s.src[s.pos] != '\n' {
				s.pos++
			}
		default:
			return
		}
	}
}

// skipLine moves to the start of the next line.
func (s *lineScanner) skipLine() {
	for s.pos < len(s.src) && s.src[s.pos] != '\n' {
		s.pos++
	}
	if s.pos < len(s.src) {
		s.next()
	}
}

// header reads a [table] or [[array]] header and returns the table's path.
func (s *lineScanner) header() string {
	line := s.line
	array := s.peek("[[")
	s.pos++
	if array {
		s.pos++
	}
	keys := s.keys()
	path := ""
	for i, k := range keys {
		path += "\x00" + k
		n, isArray := s.arrays[path]
		switch {
		case i == len(keys)-1 && array:
			s.arrays[path] = n + 1
			if _, ok := s.lines[path]; !ok {
				s.lines[path] = line
			}
			path += "\x00" + strconv.Itoa(n)
		case isArray && n > 0:
			path += "\x00" + strconv.Itoa(n-1)
		default:
			// An implicit table ([a.b] defines a) gets its first line.
			if _, ok := s.lines[path]; !ok {
				s.lines[path] = line
			}
		}
	}
	s.lines[path] = line
	return path
}

// keyValue reads "key = value" in table and indexes the key.
func (s *lineScanner) keyValue(table string) {
	line := s.line
	keys := s.keys()
	if len(keys) == 0 {
		return
	}
	path := table
	for _, k := range keys {
		path += "\x00" + k
		if _, ok := s.lines[path]; !ok {
			s.lines[path] = line
		}
	}
	s.skipBlank(false)
	if s.pos < len(s.src) && s.src[s.pos] == '=' {
		s.pos++
		s.skipBlank(false)
		s.value()
	}
}

// maxKeyDepth bounds the parts of a dotted key that are indexed: no key
// of the format is deeper, and a hostile a.a.a.… key would otherwise cost
// time and memory quadratic in its length.
const maxKeyDepth = 16

// keys reads a dotted key: bare, "basic" or 'literal' parts.
func (s *lineScanner) keys() []string {
	var keys []string
	for {
		s.skipBlank(false)
		if s.pos >= len(s.src) {
			return keys
		}
		start := s.pos
		switch s.src[s.pos] {
		case '"', '\'':
			s.str()
			raw := s.src[start:s.pos]
			key, err := strconv.Unquote(raw)
			if err != nil || raw[0] == '\'' {
				key = strings.Trim(raw, `"'`)
			}
			if len(keys) < maxKeyDepth {
				keys = append(keys, key)
			}
		default:
			for s.pos < len(s.src) && isBareKey(s.src[s.pos]) {
				s.pos++
			}
			if s.pos == start {
				return keys
			}
			if len(keys) < maxKeyDepth {
				keys = append(keys, s.src[start:s.pos])
			}
		}
		s.skipBlank(false)
		if s.pos >= len(s.src) || s.src[s.pos] != '.' {
			return keys
		}
		s.pos++
	}
}

func isBareKey(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips a value: a string, an array or inline table (which may
// span lines), or a bare scalar.
func (s *lineScanner) value() {
	if s.pos >= len(s.src) {
		return
	}
	switch s.src[s.pos] {
	case '"', '\'':
		s.str()
	case '[', '{':
		depth := 0
		for s.pos < len(s.src) {
			switch c := s.src[s.pos]; c {
			case '"', '\'':
				s.str()
				continue
			case '#':
				s.skipBlank(false)
				continue
			case '[', '{':
				depth++
			case ']', '}':
				depth--
			}
			s.next()
			if depth == 0 {
				return
			}
		}
	}
}

// str skips a string of any of TOML's four kinds.
func (s *lineScanner) str() {
	q := s.src[s.pos]
	if triple := strings.Repeat(string(q), 3); s.peek(triple) {
		s.pos += 3
		for s.pos < len(s.src) && !s.peek(triple) {
			if q == '"' && s.src[s.pos] == '\\' && s.pos+1 < len(s.src) {
				s.next()
			}
			s.next()
		}
		// A closing delimiter may hold up to two more quotes: """a"""".
		for n := 0; n < 5 && s.pos < len(s.src) && s.src[s.pos] == q; n++ {
			s.pos++
		}
		return
	}
	s.pos++
	for s.pos < len(s.src) && s.src[s.pos] != q && s.src[s.pos] != '\n' {
		if q == '"' && s.src[s.pos] == '\\' && s.pos+1 < len(s.src) {
			s.pos++
		}
		s.pos++
	}
	if s.pos < len(s.src) && s.src[s.pos] == q {
		s.pos++
	}
}
