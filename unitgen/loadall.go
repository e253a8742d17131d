package unitgen

import (
	"errors"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// loadResult is what loadAll found.
type loadResult struct {
	defs []*Definition
	// masked are the instances masked by a file of their own
	// (web@blue.toml linked to /dev/null): their template would
	// otherwise still make them.
	masked []string
	// failed are the bad definitions, with their problems.
	failed []failure
	errs   []error
}

// failure is a definition that did not load.
type failure struct {
	unit, source string
	problems     []error
}

// unitSource is a unit to load and its main file.
type unitSource struct {
	name string
	main source
}

// loadAll lists the search path once, then loads every unit, on as many
// goroutines as there are CPUs: parsing is most of the generator's time.
func loadAll(fsys fs.FS) loadResult {
	var r loadResult
	l := &loader{fsys: fsys, listing: make([]map[string]fs.DirEntry, len(searchPath))}
	for i, dir := range searchPath {
		l.listing[i] = map[string]fs.DirEntry{}
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.errs = append(r.errs, readDiagnostic("", dir, err))
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				l.listing[i][e.Name()] = e
			}
		}
	}
	units := l.units()
	type result struct {
		def *Definition
		err error
	}
	results := make([]result, len(units))
	parallel(len(units), func(i int) {
		results[i].def, results[i].err = l.load(units[i].name, units[i].main)
	})
	for i, res := range results {
		switch {
		case errors.Is(res.err, ErrMasked):
			if path.Base(units[i].main.path) == units[i].name+fileSuffix && strings.Contains(units[i].name, "@") {
				r.masked = append(r.masked, units[i].name)
			}
		case res.err != nil:
			r.errs = append(r.errs, res.err)
			f := failure{unit: units[i].name, source: "/" + units[i].main.path}
			for _, d := range Diagnostics(res.err) {
				f.problems = append(f.problems, d)
			}
			if len(f.problems) == 0 {
				f.problems = []error{res.err}
			}
			r.failed = append(r.failed, f)
		default:
			r.defs = append(r.defs, res.def)
		}
	}
	return r
}

// parallel calls do(0) to do(n-1) on as many goroutines as there are CPUs
// (one for a small n).
func parallel(n int, do func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n/32+1) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				do(i)
			}
		})
	}
	wg.Wait()
}

// units returns the units of the search path, sorted by name: one per
// NAME.toml (the first directory that has it wins), and one per instance
// of a template that has a drop-in directory of its own.
func (l *loader) units() []unitSource {
	mains := map[string]source{}
	for i, dir := range searchPath {
		for name, e := range l.listing[i] {
			base, ok := strings.CutSuffix(name, fileSuffix)
			if _, seen := mains[base]; ok && !seen && !e.IsDir() {
				mains[base] = source{path: dir + "/" + name, entry: e}
			}
		}
	}
	for i := range searchPath {
		for name := range l.listing[i] {
			base, ok := strings.CutSuffix(name, dropInSuffix)
			prefix, instance, isInstance := strings.Cut(base, "@")
			if !ok || !isInstance || instance == "" {
				continue
			}
			if _, has := mains[base]; has {
				continue
			}
			if template, has := mains[prefix+"@"]; has {
				mains[base] = template
			}
		}
	}
	units := make([]unitSource, 0, len(mains))
	for name, src := range mains {
		units = append(units, unitSource{name: name, main: src})
	}
	slices.SortFunc(units, func(a, b unitSource) int { return strings.Compare(a.name, b.name) })
	return units
}
