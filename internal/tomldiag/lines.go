package tomldiag

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Lines maps the path of every key of a TOML document to the line that
// defines it. A path is the keys from the root, and the index of every
// array element, each after a NUL (see Path): the location key of the
// second [[registry]] is "\x00registry\x001\x00location". Keys of inline
// tables and elements of arrays have lines of their own; a table that
// holds keys only implicitly ([a.b] defines a) has the line where it is
// first named.
type Lines map[string]int

// Line returns the line of path, or of its nearest ancestor that has one,
// or 0.
func (ix Lines) Line(path string) int {
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

// Path appends a key, or the index of an array element, to the path of
// a node ("" for the document). Every key follows a NUL, so that no key
// (not even "" or "a.b", which quoted keys allow) makes the path of
// another node.
func Path(parent, key string) string { return parent + "\x00" + key }

// maxKeyDepth bounds the parts of a dotted key that are indexed: no key of
// our formats comes near it, and a hostile a.a.a.… key would otherwise
// cost time and memory quadratic in its length. The parts beyond it share
// the line of the deepest part indexed.
const maxKeyDepth = 16

// maxNesting bounds the arrays and inline tables, one in another, whose
// elements and keys are indexed, for the same reason; deeper ones share
// the line of the value that holds them.
const maxNesting = 16

// Scan indexes the keys of src, a TOML document (normally one the decoder
// has accepted), down to the keys of inline tables and the elements of
// arrays. It never fails: on input it does not understand it skips a byte
// and carries on, so a wrong line is the worst outcome.
func Scan(src string) Lines { return scan(src, maxNesting) }

// ScanShallow indexes the keys of src as Scan does, but not inside values:
// the keys of an inline table and the elements of an array get the line of
// the key that holds the value.
func ScanShallow(src string) Lines { return scan(src, 0) }

// scan indexes src down to nesting arrays and inline tables deep.
func scan(src string, nesting int) Lines {
	s := &lineScanner{src: src, lines: Lines{}, arrays: map[string]int{}, nesting: nesting, cursorLine: 1}
	table := ""
	for {
		s.skipSpace(true)
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
			s.pos++
		}
	}
}

type lineScanner struct {
	src    string
	pos    int
	lines  Lines
	arrays map[string]int // path of an array of tables -> tables so far
	// depth counts the arrays and inline tables the scanner is in; keys
	// and elements deeper than nesting are not indexed.
	depth, nesting int

	// cursor caches the line of a position: positions asked for only grow.
	cursorPos, cursorLine int
}

// lineAt returns the 1-based line of byte offset pos.
func (s *lineScanner) lineAt(pos int) int {
	if pos < s.cursorPos {
		s.cursorPos, s.cursorLine = 0, 1
	}
	s.cursorLine += strings.Count(s.src[s.cursorPos:pos], "\n")
	s.cursorPos = pos
	return s.cursorLine
}

func (s *lineScanner) record(path string, line int) {
	if _, ok := s.lines[path]; !ok {
		s.lines[path] = line
	}
}

// header reads [a.b] or [[a.b]] and returns the path of the table.
func (s *lineScanner) header() string {
	line := s.lineAt(s.pos)
	array := strings.HasPrefix(s.src[s.pos:], "[[")
	if array {
		s.pos += 2
	} else {
		s.pos++
	}
	parts := s.key()
	if len(parts) == 0 {
		return ""
	}
	parent := s.resolve(parts[:len(parts)-1], line)
	path := Path(parent, parts[len(parts)-1])
	if !array {
		s.lines[path] = line
		return path
	}
	s.record(path, line)
	s.arrays[path]++
	path = Path(path, strconv.Itoa(s.arrays[path]-1))
	s.lines[path] = line
	return path
}

// resolve turns the parts of a header into a path, descending into the
// last table of every array of tables on the way.
func (s *lineScanner) resolve(parts []string, line int) string {
	path := ""
	for _, p := range parts {
		path = Path(path, p)
		if n, ok := s.arrays[path]; ok {
			path = Path(path, strconv.Itoa(n-1))
		}
		s.record(path, line)
	}
	return path
}

// keyValue reads key = value under table.
func (s *lineScanner) keyValue(table string) {
	line := s.lineAt(s.pos)
	path := table
	for _, p := range s.key() {
		if s.depth > s.nesting {
			break
		}
		path = Path(path, p)
		s.record(path, line)
	}
	if s.pos < len(s.src) && s.src[s.pos] == '=' {
		s.pos++
		s.value(path)
	}
}

// value skips one value, indexing the keys of inline tables and the
// elements of arrays down to the scanner's nesting.
func (s *lineScanner) value(path string) {
	s.skipSpace(false)
	if s.pos >= len(s.src) {
		return
	}
	switch s.src[s.pos] {
	case '"', '\'':
		s.skipString()
	case '[':
		s.pos++
		s.depth++
		defer func() { s.depth-- }()
		for i := 0; ; {
			s.skipSpace(true)
			if s.pos >= len(s.src) {
				return
			}
			switch c := s.src[s.pos]; c {
			case ']':
				s.pos++
				return
			case ',':
				s.pos++
				i++
			default:
				elem := path
				if s.depth <= s.nesting {
					elem = Path(path, strconv.Itoa(i))
					s.record(elem, s.lineAt(s.pos))
				}
				start := s.pos
				s.value(elem)
				if s.pos == start {
					s.pos++
				}
			}
		}
	case '{':
		s.pos++
		s.depth++
		defer func() { s.depth-- }()
		for {
			s.skipSpace(true)
			if s.pos >= len(s.src) {
				return
			}
			switch s.src[s.pos] {
			case '}':
				s.pos++
				return
			case ',':
				s.pos++
			default:
				start := s.pos
				s.keyValue(path)
				if s.pos == start {
					s.pos++
				}
			}
		}
	default:
		for s.pos < len(s.src) && !strings.ContainsRune(",]}\n#", rune(s.src[s.pos])) {
			s.pos++
		}
	}
}

// key reads a dotted key and returns its parts, unquoted, at most
// maxKeyDepth of them.
func (s *lineScanner) key() []string {
	var parts []string
	for {
		s.skipSpace(false)
		if s.pos >= len(s.src) {
			return parts
		}
		switch c := s.src[s.pos]; c {
		case '"', '\'':
			start := s.pos
			s.skipString()
			if len(parts) < maxKeyDepth {
				parts = append(parts, unquoteKey(s.src[start:s.pos]))
			}
		default:
			start := s.pos
			for s.pos < len(s.src) && !strings.ContainsRune(" \t\r\n.=[]\"'#,{}", rune(s.src[s.pos])) {
				s.pos++
			}
			if s.pos == start {
				return parts
			}
			if len(parts) < maxKeyDepth {
				parts = append(parts, s.src[start:s.pos])
			}
		}
		s.skipSpace(false)
		if s.pos >= len(s.src) || s.src[s.pos] != '.' {
			return parts
		}
		s.pos++
	}
}

// skipString skips a basic, literal or multi-line string.
func (s *lineScanner) skipString() {
	defer func() { s.pos = min(s.pos, len(s.src)) }() // past a final backslash
	q := s.src[s.pos]
	escapes := q == '"'
	if strings.HasPrefix(s.src[s.pos:], strings.Repeat(string(q), 3)) {
		s.pos += 3
		for s.pos < len(s.src) {
			switch c := s.src[s.pos]; {
			case c == '\\' && escapes:
				s.pos += 2
			case c == q && strings.HasPrefix(s.src[s.pos:], strings.Repeat(string(q), 3)):
				s.pos += 3
				// Up to two more quotes belong to the string.
				for i := 0; i < 2 && s.pos < len(s.src) && s.src[s.pos] == q; i++ {
					s.pos++
				}
				return
			default:
				s.pos++
			}
		}
		return
	}
	s.pos++
	for s.pos < len(s.src) {
		switch c := s.src[s.pos]; {
		case c == '\\' && escapes:
			s.pos += 2
		case c == q:
			s.pos++
			return
		case c == '\n':
			return
		default:
			s.pos++
		}
	}
}

// skipSpace skips blanks and comments, and newlines too when lines is set.
func (s *lineScanner) skipSpace(lines bool) {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\r':
			s.pos++
		case '\n':
			if !lines {
				return
			}
			s.pos++
		case '#':
			if !lines {
				return
			}
			s.skipLine()
		default:
			return
		}
	}
}

// skipLine moves to the start of the next line.
func (s *lineScanner) skipLine() {
	if i := strings.IndexByte(s.src[s.pos:], '\n'); i >= 0 {
		s.pos += i + 1
	} else {
		s.pos = len(s.src)
	}
}

// unquoteKey decodes a quoted key as TOML does; keys that fail to decode
// come back as written, which only costs a line number.
func unquoteKey(q string) string {
	if len(q) < 2 || q[len(q)-1] != q[0] {
		return q
	}
	body := q[1 : len(q)-1]
	if q[0] == '\'' || !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			b.WriteByte(body[i])
			continue
		}
		i++
		switch c := body[i]; c {
		case 'b', 't', 'n', 'f', 'r', 'e', '"', '\\':
			b.WriteByte("\b\t\n\f\r\x1b\"\\"[strings.IndexByte("btnfre\"\\", c)])
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
			if i+1+n > len(body) {
				return q
			}
			r, err := strconv.ParseUint(body[i+1:i+1+n], 16, 32)
			if err != nil || !utf8.ValidRune(rune(r)) {
				return q
			}
			b.WriteRune(rune(r))
			i += n
		default:
			return q
		}
	}
	return b.String()
}
