package tomldiag

import (
	"errors"
	"testing"
)

func TestDiagnosticError(t *testing.T) {
	for _, tc := range []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{File: "/etc/containers/registries.conf", Line: 7, Key: "registry.location", Msg: `"a b" is not a registry`, Accepted: "host[:port][/path]"},
			`/etc/containers/registries.conf:7: registry.location: "a b" is not a registry (accepted: host[:port][/path])`},
		{Diagnostic{File: "/r.conf", Line: 2, Msg: "expected a value"}, "/r.conf:2: expected a value"},
		{Diagnostic{File: "/r.conf", Msg: "2000000 bytes is too large", Accepted: "at most 1048576 bytes"}, "/r.conf: 2000000 bytes is too large (accepted: at most 1048576 bytes)"},
	} {
		if got := tc.d.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	syntax := errors.New("bare keys cannot contain '!'")
	if d := (&Diagnostic{File: "/f.conf", Line: 3, Msg: syntax.Error(), Err: syntax}); !errors.Is(d, syntax) {
		t.Errorf("%v does not wrap its syntax error", d)
	}
}
