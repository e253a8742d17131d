package unitgen

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/dockah/dockah/internal/tomldiag"
)

// maxFileSize bounds a definition file: definitions are small, and a huge
// file must not stall the boot.
const maxFileSize = 1 << 20

// File is one definition file: a main file or a drop-in.
type File struct {
	// Path is the absolute path, as printed in diagnostics.
	Path string
	// Data is the file's content.
	Data []byte
}

// node is a decoded TOML value that remembers where it was written, so
// that every check after merging can name the file and the line.
type node struct {
	file  string
	line  int
	value any              // a scalar: string, int64, float64, bool or a date
	table map[string]*node // non-nil for a table
	list  []*node          // the elements of an array
	array bool             // the value is an array (list may be empty)

	// How a table or array came to be, for the fast decoder's checks
	// against defining one twice (see fastDecode).
	kind tableKind
}

// tableKind says how a table or an array was made.
type tableKind uint8

const (
	kindValue    tableKind = iota // a value: a scalar, an array, or made by the reference decoder
	kindImplicit                  // a table named on the way to a [header]
	kindHeader                    // a table defined by a [header] or [[header]]
	kindDotted                    // a table made by a dotted key (a.b = 1)
	kindInline                    // an inline table { ... }: closed
	kindTables                    // an array of tables [[header]]
)

// decodeFile decodes one file into a tree of nodes.
func decodeFile(unit string, f File) (*node, *Diagnostic) {
	if len(f.Data) > maxFileSize {
		return nil, &Diagnostic{Unit: unit, Diagnostic: tomldiag.Diagnostic{File: f.Path, Msg: fmt.Sprintf("file is %d bytes", len(f.Data)), Accepted: "at most 1 MiB"}}
	}
	src := string(f.Data)
	if root, ok := fastDecode(src, f.Path); ok {
		return root, nil
	}
	return slowDecode(unit, f.Path, src)
}

// slowDecode decodes src with the reference decoder, and finds the lines
// of the keys with tomldiag.Scan.
func slowDecode(unit, file, src string) (*node, *Diagnostic) {
	var m map[string]any
	if _, err := toml.Decode(src, &m); err != nil {
		d := &Diagnostic{Unit: unit, Diagnostic: tomldiag.Diagnostic{File: file, Msg: "invalid TOML: " + err.Error()}}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			d.Line, d.Msg = pe.Position.Line, "invalid TOML: "+pe.Message
		}
		return nil, d
	}
	return buildNode(m, "", file, tomldiag.Scan(src)), nil
}

// buildNode converts a decoded value at path into a node.
func buildNode(v any, path, file string, lines tomldiag.Lines) *node {
	n := &node{file: file, line: lines.Line(path)}
	switch v := v.(type) {
	case map[string]any:
		n.table = make(map[string]*node, len(v))
		for k, e := range v {
			n.table[k] = buildNode(e, tomldiag.Path(path, k), file, lines)
		}
	case []map[string]any:
		n.array, n.list = true, make([]*node, len(v))
		for i, e := range v {
			n.list[i] = buildNode(e, tomldiag.Path(path, strconv.Itoa(i)), file, lines)
		}
	case []any:
		n.array, n.list = true, make([]*node, len(v))
		for i, e := range v {
			n.list[i] = buildNode(e, tomldiag.Path(path, strconv.Itoa(i)), file, lines)
		}
	default:
		n.value = v
	}
	return n
}

// listIdentity names, for the arrays of tables that drop-ins merge entry
// by entry, the key that identifies an entry.
var listIdentity = map[string]string{"socket": "listen", "volume": "target", "tmpfs": "target"}

// mergeRoot merges the drop-in tree over into base.
func mergeRoot(base, over *node) *node {
	if base.table == nil || over.table == nil {
		return over
	}
	for k, v := range over.table {
		base.table[k] = merge(base.table[k], v, listIdentity[k])
	}
	return base
}

// merge merges the value over into base and returns the result. Tables
// merge key by key; arrays of tables with an identity key id merge entry
// by entry (see listIdentity); any other value of over replaces base's.
func merge(base, over *node, id string) *node {
	switch {
	case base == nil:
		return over
	case base.table != nil && over.table != nil:
		for k, v := range over.table {
			base.table[k] = merge(base.table[k], v, "")
		}
		return base
	case base.array && over.array && id != "" && len(over.list) > 0:
		return mergeList(base, over, id)
	default:
		return over
	}
}

// mergeList merges each entry of over into the entry of base with the same
// identity key, or appends it.
func mergeList(base, over *node, id string) *node {
	index := make(map[string]int, len(base.list))
	for i, b := range base.list {
		if k, ok := identity(b, id); ok {
			if _, dup := index[k]; !dup {
				index[k] = i
			}
		}
	}
	for _, e := range over.list {
		k, ok := identity(e, id)
		i, found := index[k]
		if !ok || !found {
			if ok {
				index[k] = len(base.list)
			}
			base.list = append(base.list, e)
			continue
		}
		base.list[i] = merge(base.list[i], e, "")
	}
	return base
}

func identity(n *node, id string) (string, bool) {
	if n.table == nil || n.table[id] == nil {
		return "", false
	}
	s, ok := n.table[id].value.(string)
	return strings.TrimRight(s, "/"), ok
}

// describe says what a node holds, for messages: `the string "x"`.
func describe(n *node) string {
	switch v := n.value.(type) {
	case string:
		return "the string " + quote(v)
	case int64:
		return "the integer " + strconv.FormatInt(v, 10)
	case float64:
		return "the float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "the boolean " + strconv.FormatBool(v)
	}
	switch {
	case n.table != nil:
		return "a table"
	case n.array:
		return "an array"
	default:
		return "a date-time"
	}
}

// quote quotes user text for a message: Go syntax, so control characters
// and quotes are escaped and the message stays on one line; long text is
// cut.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
