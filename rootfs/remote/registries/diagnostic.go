package registries

import (
	"errors"
	"sort"

	"github.com/BurntSushi/toml"

	"github.com/dockah/dockah/internal/tomldiag"
)

// Diagnostic is one problem of a registries.conf file, printed as
// FILE:LINE: KEY: MSG (accepted: …); Err holds a TOML syntax error.
type Diagnostic = tomldiag.Diagnostic

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
