package inventory

import (
	"debug/buildinfo"
	"fmt"
	"io"
	"strings"
)

// goModules reads the build info of the Go binary r (nil, nil for a file
// that is not one) and returns its modules: the standard library as
// "stdlib" at the Go version, the main module and every dependency, with
// the replacement where a module was replaced. debug/buildinfo reads the
// ELF headers and a bounded part of the data; a panic on a hostile file
// is an error. cgo says whether the binary was built with cgo, and so
// may have C libraries linked in.
func goModules(r io.ReaderAt) (mods []goModule, cgo bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			mods, cgo, err = nil, false, fmt.Errorf("read Go build info: %v", p)
		}
	}()
	bi, err := buildinfo.Read(r)
	if err != nil {
		return nil, false, nil // not a Go binary, or one without build info
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" && s.Value == "1" {
			cgo = true
		}
	}
	gover := strings.Fields(bi.GoVersion)
	if len(gover) > 0 {
		v := gover[0]
		if strings.HasPrefix(v, "devel") && len(gover) > 1 {
			v = gover[1]
		}
		mods = append(mods, goModule{Path: "stdlib", Version: strings.TrimPrefix(v, "go"), Detail: bi.GoVersion})
	}
	if bi.Main.Path != "" {
		mods = append(mods, goModule{Path: bi.Main.Path, Version: bi.Main.Version, Detail: "main module"})
	}
	for _, m := range bi.Deps {
		if m == nil {
			continue
		}
		gm := goModule{Path: m.Path, Version: m.Version}
		if r := m.Replace; r != nil {
			gm.Detail = "replaces " + m.Path
			gm.Path = r.Path
			if r.Version != "" {
				gm.Version = r.Version
			} else {
				gm.Version = "(devel)" // a local directory
			}
		}
		mods = append(mods, gm)
	}
	return mods, cgo, nil
}

type goModule struct{ Path, Version, Detail string }
