package registries

import (
	"testing"

	"github.com/dockah/dockah/internal/tomldiag"
)

// FuzzParse feeds hostile files to Parse: nothing panics or loops, the
// line scanner included, and a parsed config answers every question
// without panicking.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		manPageExample,
		findConf,
		endpointsConf,
		"[registries.search]\nregistries = ['a']",
		"registry = [{ location = \"q.io\", mirror = [{ location = \"m\" }] }]",
		"a = \"\"\"x\n]\"\"\"\n[[registry]]\nprefix = '*.x.io'\n",
		"[aliases]\n\"a\" = \"b.io/c\"\n",
	} {
		f.Add(seed, "docker.io/library/alpine:3")
	}
	f.Fuzz(func(t *testing.T, src, ref string) {
		tomldiag.ScanShallow(src)
		if len(src) > 8<<10 {
			// BurntSushi/toml takes time superlinear in the parts of a
			// dotted key (a.a.a.…: 4,000 parts take a second); real files
			// are a few KiB.
			return
		}
		cfg, err := Parse("fuzz.conf", []byte(src))
		if err != nil {
			return
		}
		cfg.Find(ref)
		eps, err := cfg.Endpoints(ref, false)
		if err == nil && len(eps) == 0 {
			t.Errorf("Endpoints(%q) gave no endpoint and no error", ref)
		}
		cfg.Endpoints(ref, true)
		cfg.ResolveShortName(ref)
		merge(&Config{}, cfg)
	})
}
