package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The JSON form of a profile file: Docker's format, which is the OCI
// runtime-spec seccomp object plus archMap, name, comment, includes and
// excludes.
type rawProfile struct {
	DefaultAction    specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet  *uint                    `json:"defaultErrnoRet"`
	Architectures    []specs.Arch             `json:"architectures"`
	ArchMap          []rawArchMap             `json:"archMap"`
	Flags            []specs.LinuxSeccompFlag `json:"flags"`
	ListenerPath     string                   `json:"listenerPath"`
	ListenerMetadata string                   `json:"listenerMetadata"`
	Syscalls         []rawSyscall             `json:"syscalls"`
}

type rawArchMap struct {
	Architecture     specs.Arch   `json:"architecture"`
	SubArchitectures []specs.Arch `json:"subArchitectures"`
}

type rawSyscall struct {
	Name     string                   `json:"name"`
	Names    []string                 `json:"names"`
	Action   specs.LinuxSeccompAction `json:"action"`
	ErrnoRet *uint                    `json:"errnoRet"`
	Args     []specs.LinuxSeccompArg  `json:"args"`
	Comment  string                   `json:"comment"`
	Includes *rawFilter               `json:"includes"`
	Excludes *rawFilter               `json:"excludes"`
}

type rawFilter struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// Limits on a profile file, far above any real profile.
const (
	maxSyscallRules = 4096
	maxRuleArgs     = 16
	maxErrno        = 4095 // the kernel caps SECCOMP_RET_ERRNO at MAX_ERRNO
)

// ParseSeccompProfile parses a profile in Docker's JSON format and fits it
// to the host cfg describes (cfg.Profile is ignored). Unknown fields are
// errors, and every error names the field, e.g. "syscalls[3].args[0].op".
func ParseSeccompProfile(data []byte, cfg SeccompConfig) (*SeccompProfile, error) {
	h, err := hostFacts(cfg)
	if err != nil {
		return nil, err
	}
	var raw rawProfile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(err)
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the profile object")
	}
	p, archMap, err := raw.convert()
	if err != nil {
		return nil, err
	}
	p.arches, err = h.arches(raw.Architectures, archMap, cfg.Arches)
	if err != nil {
		return nil, err
	}
	p.native, p.kernel = h.name, cfg.Kernel
	return p, nil
}

// jsonError rewords encoding/json's errors to name the field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Errorf("the profile must be a JSON object, not a JSON %s", te.Value)
		}
		return fmt.Errorf("%s: cannot use a JSON %s here (want %s)", te.Field, te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
	}
	return fmt.Errorf("decode profile: %w", err)
}

// convert validates the top level and every rule, reporting all problems.
func (raw *rawProfile) convert() (*SeccompProfile, map[specs.Arch][]specs.Arch, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if raw.DefaultAction == "" {
		fail("defaultAction: missing (use seccomp = %q to run without a filter)", SeccompUnconfined)
	} else if err := checkAction(raw.DefaultAction, raw.DefaultErrnoRet); err != nil {
		fail("defaultAction: %w", err)
	}
	if len(raw.Architectures) > 0 && len(raw.ArchMap) > 0 {
		fail("architectures and archMap: use one or the other")
	}
	for i, a := range raw.Architectures {
		if !knownArch(a) {
			fail("architectures[%d]: unknown architecture %q (accepted: %s)", i, a, archList(specArches))
		}
	}
	archMap := map[specs.Arch][]specs.Arch{}
	for i, m := range raw.ArchMap {
		for j, a := range append([]specs.Arch{m.Architecture}, m.SubArchitectures...) {
			if !knownArch(a) {
				fail("archMap[%d]: architecture %d: unknown %q (accepted: %s)", i, j, a, archList(specArches))
			}
		}
		archMap[m.Architecture] = append(archMap[m.Architecture], m.SubArchitectures...)
	}
	for i, f := range raw.Flags {
		if f != specs.LinuxSeccompFlagLog && f != specs.LinuxSeccompFlagSpecAllow {
			fail("flags[%d]: unsupported flag %q (accepted: %s, %s)", i, f, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow)
		}
	}
	if raw.ListenerPath != "" || raw.ListenerMetadata != "" {
		fail("listenerPath: seccomp user notification is not supported")
	}
	if len(raw.Syscalls) > maxSyscallRules {
		fail("syscalls: %d rules, at most %d", len(raw.Syscalls), maxSyscallRules)
		return nil, nil, errors.Join(errs...)
	}
	p := &SeccompProfile{
		defaultAction: raw.DefaultAction,
		defaultErrno:  raw.DefaultErrnoRet,
		flags:         raw.Flags,
	}
	for i := range raw.Syscalls {
		r, err := raw.Syscalls[i].convert()
		if err != nil {
			errs = append(errs, fmt.Errorf("syscalls[%d]%w", i, err))
			continue
		}
		p.rules = append(p.rules, r)
	}
	return p, archMap, errors.Join(errs...)
}

// convert validates one rule. Its errors start with the field after the
// rule's index, ".names[2]: ...", so the caller can prefix "syscalls[i]".
func (s *rawSyscall) convert() (seccompRule, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	names := s.Names
	switch {
	case s.Name != "" && len(s.Names) > 0:
		fail(".name and .names: use one or the other")
	case s.Name != "":
		names = []string{s.Name}
	case len(s.Names) == 0:
		fail(".names: missing")
	}
	for i, n := range names {
		if !validSyscallName(n) {
			fail(".names[%d]: %q is not a syscall name (lower-case letters, digits and _)", i, n)
		}
	}
	if err := checkAction(s.Action, s.ErrnoRet); err != nil {
		fail(".action: %w", err)
	}
	if len(s.Args) > maxRuleArgs {
		fail(".args: %d conditions, at most %d", len(s.Args), maxRuleArgs)
	}
	for i, a := range s.Args {
		if err := checkArg(a); err != nil {
			fail(".args[%d]: %w", i, err)
		}
	}
	r := seccompRule{Names: names, Action: s.Action, Errno: s.ErrnoRet, Args: s.Args}
	var err error
	if r.Includes, err = s.Includes.convert(); err != nil {
		fail(".includes%w", err)
	}
	if r.Excludes, err = s.Excludes.convert(); err != nil {
		fail(".excludes%w", err)
	}
	return r, errors.Join(errs...)
}

// convert validates a condition; nil means no condition.
func (f *rawFilter) convert() (ruleFilter, error) {
	if f == nil {
		return ruleFilter{}, nil
	}
	var errs []error
	var out ruleFilter
	for i, name := range f.Caps {
		c, err := ParseCap(name)
		if err != nil {
			errs = append(errs, fmt.Errorf(".caps[%d]: %w", i, err))
			continue
		}
		out.Caps = out.Caps.With(c)
	}
	for i, a := range f.Arches {
		if !knownDockerArch(a) {
			errs = append(errs, fmt.Errorf(".arches[%d]: unknown architecture %q (accepted: %s)", i, a, strings.Join(dockerArches, ", ")))
		}
	}
	out.Arches = f.Arches
	if f.MinKernel != "" {
		k, err := parseMinKernel(f.MinKernel)
		if err != nil {
			errs = append(errs, fmt.Errorf(".minKernel: %w", err))
		}
		out.MinKernel = k
	}
	return out, errors.Join(errs...)
}

// validSyscallName accepts what libseccomp could know: a short lower-case
// identifier. Names it does not know are skipped at compile time.
func validSyscallName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}
