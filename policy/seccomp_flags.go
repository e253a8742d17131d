package policy

import (
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// LoadFlags returns the flags for seccomp(SECCOMP_SET_MODE_FILTER, flags,
// prog) that the profile asks for (SECCOMP_FILTER_FLAG_LOG,
// SECCOMP_FILTER_FLAG_SPEC_ALLOW); they are not part of the program.
func LoadFlags(s *specs.LinuxSeccomp) uint {
	var flags uint
	if s == nil {
		return 0
	}
	for _, f := range s.Flags {
		switch f {
		case specs.LinuxSeccompFlagLog:
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		}
	}
	return flags
}
