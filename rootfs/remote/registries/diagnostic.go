package registries

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Diagnostic is one problem of a registries.conf file, printed as
// FILE:LINE: KEY: MSG (accepted: …).
type Diagnostic struct {
	// File is the file at fault, Line its line (1-based) or 0 when the
	// problem has no single line.
	File string
	Line int
	// Key is the dotted key ("registry.mirror.location"), empty for the
	// whole file.
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

// syntaxError turns a TOML decoding error into a diagnostic.
func syntaxError(file string, err error) error {
	d := &Diagnostic{File: file, Msg: err.Error(), Err: err}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		d.Line, d.Key, d.Msg = pe.Position.Line, pe.LastKey, pe.Message
	}
	return d
}

// joinDiagnostics joins diags in the order of their lines.
func joinDiagnostics(diags []*Diagnostic) error {
	sort.SliceStable(diags, func(i, j int) bool { return diags[i].Line < diags[j].Line })
	errs := make([]error, len(diags))
	for i, d := range diags {
		errs[i] = d
	}
	return errors.Join(errs...)
}
