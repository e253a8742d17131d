package unitgen

import (
	"cmp"
	"errors"
	"slices"
	"strings"

	"github.com/dockah/dockah/internal/tomldiag"
)

// ErrNotFound is returned by LoadUnit when no definition of the unit exists.
var ErrNotFound = errors.New("no such container definition")

// ErrMasked is returned by LoadUnit when the definition is masked by an
// empty file or a link to /dev/null.
var ErrMasked = errors.New("container definition is masked")

// Diagnostic is one problem in a definition: a tomldiag.Diagnostic (file,
// line, key, message and what is accepted, printed as
// FILE:LINE: KEY: MSG (accepted: …)) and the unit it belongs to. All
// problems of a definition are joined with errors.Join; Diagnostics takes
// them apart again.
type Diagnostic struct {
	// Unit is the unit name the problem belongs to ("web", "web@",
	// "web@blue"), or empty when it belongs to no single definition.
	Unit string
	tomldiag.Diagnostic
}

// Diagnostics returns every Diagnostic in err, depth first through joined
// and wrapped errors, in order. Errors that are not diagnostics are left out.
func Diagnostics(err error) []*Diagnostic {
	var out []*Diagnostic
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *Diagnostic:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// joinDiagnostics sorts the diagnostics of one definition by file (in
// merge order), line and key, and joins them into one error.
func joinDiagnostics(diags []*Diagnostic, files []string) error {
	if len(diags) == 0 {
		return nil
	}
	order := func(file string) int { return slices.Index(files, file) }
	slices.SortStableFunc(diags, func(a, b *Diagnostic) int {
		return cmp.Or(cmp.Compare(order(a.File), order(b.File)), cmp.Compare(a.Line, b.Line), strings.Compare(a.Key, b.Key))
	})
	errs := make([]error, len(diags))
	for i, d := range diags {
		errs[i] = d
	}
	return errors.Join(errs...)
}

// joinPath appends a key to a dotted key of a diagnostic.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
