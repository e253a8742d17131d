//go:build !cgo

package policy

import (
	"errors"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Without cgo there is no libseccomp: such a build (the lean dockah
// command, cmd/dockah/dispatch.go) reads profiles and computes what
// depends on them, but compiles no program; the shim and the full build
// do.

var errNoLibseccomp = errors.New("seccomp programs are compiled by a build of dockah with libseccomp (cgo); this one has none")

// CompileBPF fails: no libseccomp.
func CompileBPF(*SeccompProfile, CapSet) (Program, error) { return nil, errNoLibseccomp }

// Compile fails: no libseccomp.
func Compile(*specs.LinuxSeccomp) (Program, error) { return nil, errNoLibseccomp }

// libseccompVersion is none.
func libseccompVersion() (major, minor, micro uint) { return 0, 0, 0 }
