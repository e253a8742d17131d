package unitgen

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dockah/dockah/internal/deftest"
	"github.com/dockah/dockah/internal/tomldiag"
)

func TestLoadUnit(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/dockah/containers/web.toml":                deftest.New("web:1").File(),
		"etc/dockah/containers/web@.toml":               deftest.New("tmpl:%i").File(),
		"usr/lib/dockah/containers/web@blue.toml":       deftest.New("blue:1").File(),
		"etc/dockah/containers/masked.toml":             {Data: []byte("\n \t\n")},
		"usr/lib/dockah/containers/masked.toml":         deftest.New("x:1").File(),
		"etc/dockah/containers/linked.toml":             deftest.Masked(),
		"etc/dockah/containers/web@red.toml":            deftest.Masked(),
		"etc/dockah/containers/dir.toml/x":              {Data: []byte("x")},
		"etc/dockah/containers/big.toml":                {Data: []byte("# " + strings.Repeat("x", maxFileSize) + "\n")},
		"run/dockah/containers/web@green.toml.d/a.toml": deftest.DropIn().Container(`hostname = "g"`).File(),
	}
	for _, tc := range []struct {
		unit, image string
		err         error
	}{
		{"web", "web:1", nil},
		{"web@green", "tmpl:green", nil},
		{"web@blue", "blue:1", nil}, // its own file beats the template, wherever it is
		{"missing", "", ErrNotFound},
		{"dir", "", ErrNotFound},
		{"masked", "", ErrMasked},
		{"linked", "", ErrMasked},
		{"web@red", "", ErrMasked},
	} {
		d, err := LoadUnit(fsys, tc.unit)
		switch {
		case tc.err != nil && !errors.Is(err, tc.err):
			t.Errorf("LoadUnit(%s) = %v, want %v", tc.unit, err, tc.err)
		case tc.err == nil && err != nil:
			t.Errorf("LoadUnit(%s): %v", tc.unit, err)
		case tc.err == nil && d.Container.Image != tc.image:
			t.Errorf("LoadUnit(%s) has the image %q, want %q", tc.unit, d.Container.Image, tc.image)
		}
	}
	for _, bad := range []string{"", "web@", "a b", "../etc/passwd", "a/b"} {
		if _, err := LoadUnit(fsys, bad); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("LoadUnit(%q) = %v, want a bad name", bad, err)
		}
	}
	_, err := LoadUnit(fsys, "big")
	if diags := Diagnostics(err); len(diags) != 1 || !strings.Contains(diags[0].Error(), "at most 1 MiB") {
		t.Errorf("LoadUnit(big) = %v, want a diagnostic about the size", err)
	}
	if d, err := LoadUnit(fsys, "web@green"); err != nil || d.Container.Hostname != "g" || len(d.DropIns) != 1 {
		t.Errorf("LoadUnit(web@green) = %+v, %v, want the drop-in of the instance merged", d, err)
	}
}

func TestLoadAll(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/dockah/containers/b.toml":   deftest.New("b:1").File(),
		"etc/dockah/containers/a.toml":   deftest.New("a:1").File(),
		"etc/dockah/containers/bad.toml": deftest.New("BAD").File(),
	}
	defs, err := LoadAll(fsys)
	if len(defs) != 2 || defs[0].Name != "a" || defs[1].Name != "b" {
		t.Errorf("LoadAll returned %d definitions, want a and b in order", len(defs))
	}
	if diags := Diagnostics(err); len(diags) != 1 || diags[0].Unit != "bad" || diags[0].Line != 2 || diags[0].Key != "container.image" {
		t.Errorf("LoadAll problems = %v, want one at bad.toml:2 container.image", err)
	}
	defs, err = LoadAll(fstest.MapFS{})
	if len(defs) != 0 || err != nil {
		t.Errorf("LoadAll of nothing = %d, %v", len(defs), err)
	}
}

func TestDiagnosticError(t *testing.T) {
	for _, tc := range []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{Diagnostic: tomldiag.Diagnostic{File: "/f.toml", Line: 12, Key: "socket.listen", Msg: `"80800" is not a port`, Accepted: "PORT"}}, `/f.toml:12: socket.listen: "80800" is not a port (accepted: PORT)`},
		{Diagnostic{Diagnostic: tomldiag.Diagnostic{File: "/f.toml", Msg: "cannot read the file: permission denied"}}, "/f.toml: cannot read the file: permission denied"},
		{Diagnostic{Unit: "web", Diagnostic: tomldiag.Diagnostic{File: "/f.toml", Key: "container.image", Msg: "missing"}}, "/f.toml: container.image: missing"},
	} {
		if got := tc.d.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	wrapped := errors.Join(errors.New("other"), errors.Join(&Diagnostic{Diagnostic: tomldiag.Diagnostic{Msg: "a"}}), &wrapErr{&Diagnostic{Diagnostic: tomldiag.Diagnostic{Msg: "b"}}})
	if diags := Diagnostics(wrapped); len(diags) != 2 || diags[0].Msg != "a" || diags[1].Msg != "b" {
		t.Errorf("Diagnostics found %v", diags)
	}
}

type wrapErr struct{ err error }

func (w *wrapErr) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapErr) Unwrap() error { return w.err }
