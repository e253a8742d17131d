package policy

import (
	"encoding/json"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The JSON a profile is written as: the Docker format ParseSeccompProfile
// reads, without the fields a written profile never needs.
type (
	exportProfile struct {
		DefaultAction   specs.LinuxSeccompAction `json:"defaultAction"`
		DefaultErrnoRet *uint                    `json:"defaultErrnoRet,omitempty"`
		Architectures   []specs.Arch             `json:"architectures,omitempty"`
		Flags           []specs.LinuxSeccompFlag `json:"flags,omitempty"`
		Syscalls        []exportRule             `json:"syscalls"`
	}
	exportRule struct {
		Names    []string                 `json:"names"`
		Action   specs.LinuxSeccompAction `json:"action"`
		ErrnoRet *uint                    `json:"errnoRet,omitempty"`
		Args     []specs.LinuxSeccompArg  `json:"args,omitempty"`
		Includes *rawFilter               `json:"includes,omitempty"`
		Excludes *rawFilter               `json:"excludes,omitempty"`
	}
)

// MarshalJSON writes the profile in Docker's format, conditions included,
// so that the default profile can be saved, edited and given back as
// seccomp = "/path/profile.json". The architectures are those fitted to
// the host. An unconfined profile has no JSON form.
func (p *SeccompProfile) MarshalJSON() ([]byte, error) {
	if p.unconfined {
		return nil, &json.UnsupportedValueError{Str: "unconfined seccomp profile"}
	}
	out := exportProfile{
		DefaultAction:   p.defaultAction,
		DefaultErrnoRet: p.defaultErrno,
		Architectures:   p.arches,
		Flags:           p.flags,
		Syscalls:        make([]exportRule, 0, len(p.rules)),
	}
	for _, r := range p.rules {
		out.Syscalls = append(out.Syscalls, exportRule{
			Names:    r.Names,
			Action:   r.Action,
			ErrnoRet: r.Errno,
			Args:     r.Args,
			Includes: r.Includes.raw(),
			Excludes: r.Excludes.raw(),
		})
	}
	return json.Marshal(out)
}

// raw is the JSON form of a condition; nil when there is none.
func (f ruleFilter) raw() *rawFilter {
	if f.Caps == 0 && len(f.Arches) == 0 && f.MinKernel.IsZero() {
		return nil
	}
	r := &rawFilter{Arches: f.Arches}
	if f.Caps != 0 {
		r.Caps = f.Caps.Names()
	}
	if !f.MinKernel.IsZero() {
		r.MinKernel = f.MinKernel.String()
	}
	return r
}
