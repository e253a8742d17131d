package unitgen

import (
	"cmp"
	"errors"
	"io/fs"
	"slices"
	"strings"

	"github.com/dockah/dockah/internal/tomldiag"
)

// Generate is the whole generator but the writing: it loads every
// definition of the search path and renders the units of the good ones, a
// failing service for each bad one (see RenderFailed), and a link to
// /dev/null for each instance masked by a file of its own. The error joins
// every problem (see Diagnostics); the output is complete regardless.
func Generate(fsys fs.FS, opts Options) (*Output, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	r := loadAll(fsys)
	g := &generation{out: &Output{}, owner: map[string]string{}, opts: opts}
	outs, errs := renderAll(r.defs, opts)
	for i, d := range r.defs {
		out, err := outs[i], errs[i]
		if err == nil {
			err = g.claim(d.Name, d.SourcePath, out)
		}
		if err != nil {
			r.errs = append(r.errs, err)
			g.fail(d.Name, d.SourcePath, []error{err})
			continue
		}
		g.add(out)
	}
	for _, f := range r.failed {
		g.fail(f.unit, f.source, f.problems)
	}
	for _, unit := range r.masked {
		g.out.Links = append(g.out.Links, Link{Path: unit + ".service", Target: "/dev/null"})
	}
	slices.SortFunc(g.out.Units, func(a, b Unit) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(g.out.Links, func(a, b Link) int { return cmp.Compare(a.Path, b.Path) })
	g.out.Links = slices.CompactFunc(g.out.Links, func(a, b Link) bool { return a.Path == b.Path })
	return g.out, errors.Join(r.errs...)
}

// renderAll renders the definitions on as many goroutines as there are
// CPUs.
func renderAll(defs []*Definition, opts Options) ([]*Output, []error) {
	outs, errs := make([]*Output, len(defs)), make([]error, len(defs))
	parallel(len(defs), func(i int) { outs[i], errs[i] = Render(defs[i], opts) })
	return outs, errs
}

// generation collects the output of Generate.
type generation struct {
	out   *Output
	owner map[string]string // unit file name -> definition that made it
	opts  Options
}

// claim reports a unit name that another definition made already: a
// container "web-admin" and the socket named "admin" of "web", say.
func (g *generation) claim(def, source string, out *Output) error {
	for _, u := range out.Units {
		if other, taken := g.owner[u.Name]; taken && other != def {
			return &Diagnostic{Unit: def, Diagnostic: tomldiag.Diagnostic{File: source, Msg: "makes the unit " + u.Name + ", which the container " + other + " makes too", Accepted: "a container name or socket name that makes unique unit names"}}
		}
	}
	for _, u := range out.Units {
		g.owner[u.Name] = def
	}
	return nil
}

func (g *generation) add(out *Output) {
	g.out.Units = append(g.out.Units, out.Units...)
	g.out.Links = append(g.out.Links, out.Links...)
}

// fail adds the failing service of a bad definition, unless its name
// cannot make a unit or another definition made that unit already.
func (g *generation) fail(unit, source string, problems []error) {
	out, err := RenderFailed(unit, source, problems, g.opts)
	if err != nil || g.owner[out.Units[0].Name] != "" && g.owner[out.Units[0].Name] != unit {
		return
	}
	g.owner[out.Units[0].Name] = unit
	g.add(out)
}
