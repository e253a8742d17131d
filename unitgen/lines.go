package unitgen

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// lineIndex maps the path of every key of a TOML document to the line
// that defines it. Paths are those of the decoded tree (see nodePath): the
// listen key of the second [[socket]] is "\x00socket\x001\x00listen".
//
// BurntSushi/toml reports lines for syntax errors only; this index gives
// the lines of keys for the checks done after decoding.
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

// nodePath appends a key, or the index of an array element, to the path
// of a node. Every key follows a NUL, so that no key (not even "" or
// "a.b", which quoted keys allow) makes the path of another node.
func nodePath(path, key string) string { return path + "\x00" + key }

// joinPath appends a key to a dotted key of a diagnostic.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// scanLines indexes the keys of src, which the TOML decoder has already
// accepted. It never fails: on input it does not understand it skips a
// byte and carries on, so a wrong line is the worst outcome.
func scanLines(src string) lineIndex {
	s := &lineScanner{src: src, lines: lineIndex{}, arrays: map[string]int{}, cursorLine: 1}
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
	lines  lineIndex
	arrays map[string]int // path of an array of tables -> tables so far

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
	path := nodePath(parent, parts[len(parts)-1])
	if !array {
		s.lines[path] = line
		return path
	}
	s.record(path, line)
	s.arrays[path]++
	path = nodePath(path, strconv.Itoa(s.arrays[path]-1))
	s.lines[path] = line
	return path
}

// resolve turns the parts of a header into a path, descending into the
// last table of every array of tables on the way.
func (s *lineScanner) resolve(parts []string, line int) string {
	path := ""
	for _, p := range parts {
		path = nodePath(path, p)
		if n, ok := s.arrays[path]; ok {
			path = nodePath(path, strconv.Itoa(n-1))
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
		path = nodePath(path, p)
		s.record(path, line)
	}
	if s.pos < len(s.src) && s.src[s.pos] == '=' {
		s.pos++
		s.value(path)
	}
}

// value skips one value, indexing the keys of inline tables and the
// elements of arrays.
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
				elem := nodePath(path, strconv.Itoa(i))
				s.record(elem, s.lineAt(s.pos))
				start := s.pos
				s.value(elem)
				if s.pos == start {
					s.pos++
				}
			}
		}
	case '{':
		s.pos++
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

// key reads a dotted key and returns its parts, unquoted.
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
			parts = append(parts, unquoteKey(s.src[start:s.pos]))
		default:
			start := s.pos
			for s.pos < len(s.src) && !strings.ContainsRune(" \t\r\n.=[]\"'#,{}", rune(s.src[s.pos])) {
				s.pos++
			}
			if s.pos == start {
				return parts
			}
			parts = append(parts, s.src[start:s.pos])
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
