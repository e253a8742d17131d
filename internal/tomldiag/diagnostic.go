package tomldiag

import (
	"strconv"
	"strings"
)

// Diagnostic is one problem in a TOML file. A file's problems are reported
// together, joined with errors.Join.
type Diagnostic struct {
	// File is the file at fault, Line its line (1-based) or 0 when the
	// problem has no single line.
	File string
	Line int
	// Key is the dotted key ("socket.listen"), empty for the whole file.
	Key string
	// Msg says what is wrong; Accepted what would be right (may be empty).
	Msg      string
	Accepted string
	// Err is the underlying error, if any (a TOML syntax error).
	Err error
}

// Error formats the diagnostic as FILE:LINE: KEY: MSG (accepted: …).
func (d *Diagnostic) Error() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(d.Line))
	}
	if d.Key != "" {
		b.WriteString(": ")
		b.WriteString(d.Key)
	}
	b.WriteString(": ")
	b.WriteString(d.Msg)
	if d.Accepted != "" {
		b.WriteString(" (accepted: ")
		b.WriteString(d.Accepted)
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (d *Diagnostic) Unwrap() error { return d.Err }
