package deftest

import (
	"fmt"
	"strings"
	"testing/fstest"
)

// Definition is the text of a definition file: comment lines, the keys of
// [container], then tables in the order they were added, a blank line
// between tables. Its methods add to it and return it, so a definition
// reads as one expression:
//
//	deftest.New("nginx").Container(`network = "host"`).
//		Table("[[socket]]", `listen = "8080"`, "port = 80")
type Definition struct {
	comments  []string
	container []string
	tables    []table
}

type table struct {
	header string
	keys   []string
}

// New starts the definition of a container of image.
func New(image string) *Definition {
	return DropIn().Container("image = " + quote(image))
}

// DropIn starts a file with no key at all: a drop-in, which sets only
// what it is given (or, left empty, a file that masks a definition).
func DropIn() *Definition { return &Definition{} }

// Comment adds a comment line ("# text") at the top of the file.
func (d *Definition) Comment(text string) *Definition {
	d.comments = append(d.comments, "# "+text)
	return d
}

// Container adds keys to [container], each a line as TOML writes it:
// `network = "host"`.
func (d *Definition) Container(keys ...string) *Definition {
	d.container = append(d.container, keys...)
	return d
}

// Table adds a table with keys. The header is written as TOML writes it:
// "[security]", or "[[socket]]" for one more element of an array.
func (d *Definition) Table(header string, keys ...string) *Definition {
	d.tables = append(d.tables, table{header, keys})
	return d
}

// String returns the text of the file.
func (d *Definition) String() string {
	var b strings.Builder
	for _, c := range d.comments {
		b.WriteString(c + "\n")
	}
	written := false
	write := func(header string, keys []string) {
		if written {
			b.WriteByte('\n')
		}
		written = true
		b.WriteString(header + "\n")
		for _, k := range keys {
			b.WriteString(k + "\n")
		}
	}
	if len(d.container) > 0 {
		write("[container]", d.container)
	}
	for _, t := range d.tables {
		write(t.header, t.keys)
	}
	return b.String()
}

// Bytes returns the text of the file.
func (d *Definition) Bytes() []byte { return []byte(d.String()) }

// File returns the text as a file of an fstest.MapFS.
func (d *Definition) File() *fstest.MapFile { return &fstest.MapFile{Data: d.Bytes()} }

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
