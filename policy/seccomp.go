package policy

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Values of SeccompConfig.Profile besides a file path.
const (
	SeccompDefault    = "default"
	SeccompUnconfined = "unconfined"
)

// maxProfileSize bounds a profile file; Docker's default is about 20 KiB.
const maxProfileSize = 1 << 20

// SeccompConfig selects a profile and carries the host facts its rules may
// depend on. Everything here is known before the container starts; the
// capability set comes later, at Resolve or Compile.
type SeccompConfig struct {
	// Profile is "default" (or empty), "unconfined", or the absolute path of
	// a profile in Docker's JSON format.
	Profile string
	// Arches lists architectures allowed besides the native one, such as
	// "x86" or "SCMP_ARCH_X32". 32-bit x86 is an opt-in: there socket(2)
	// is reached through socketcall(2), whose arguments seccomp cannot
	// read, so the address-family rules do not hold for 32-bit programs.
	Arches []string
	// Kernel is the host's kernel version, for rules with minKernel.
	// The zero version satisfies no minKernel.
	Kernel KernelVersion
	// GOARCH names the native architecture; empty means runtime.GOARCH.
	GOARCH string
}

// SeccompProfile is a seccomp policy fitted to a host but not yet to a
// container: rules may still depend on the container's capabilities.
// It is immutable once built.
type SeccompProfile struct {
	source        string
	unconfined    bool
	defaultAction specs.LinuxSeccompAction
	defaultErrno  *uint
	arches        []specs.Arch
	flags         []specs.LinuxSeccompFlag
	rules         []seccompRule
	native        string // Docker's name for the native arch, e.g. "amd64"
	kernel        KernelVersion
}

// seccompRule is one group of syscalls with an action, possibly limited to
// some capabilities, architectures or kernels.
type seccompRule struct {
	Names    []string
	Action   specs.LinuxSeccompAction
	Errno    *uint
	Args     []specs.LinuxSeccompArg
	Includes ruleFilter
	Excludes ruleFilter
}

// ruleFilter is a condition on the container and host. In Includes every
// listed fact must hold for the rule to apply; in Excludes any one listed
// fact holding drops the rule (Docker's semantics).
type ruleFilter struct {
	Caps      CapSet
	Arches    []string
	MinKernel KernelVersion
}

// Seccomp returns the profile cfg names. A file is read here; everything
// else is pure.
func Seccomp(cfg SeccompConfig) (*SeccompProfile, error) {
	switch cfg.Profile {
	case "", SeccompDefault:
		return defaultProfile(cfg)
	case SeccompUnconfined:
		return &SeccompProfile{source: SeccompUnconfined, unconfined: true}, nil
	}
	if !filepath.IsAbs(cfg.Profile) {
		return nil, fmt.Errorf("seccomp profile %q: must be %q, %q or an absolute path", cfg.Profile, SeccompDefault, SeccompUnconfined)
	}
	f, err := os.Open(cfg.Profile)
	if err != nil {
		return nil, fmt.Errorf("read seccomp profile: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read seccomp profile: %w", err)
	}
	if len(data) > maxProfileSize {
		return nil, fmt.Errorf("seccomp profile %s: larger than %d bytes", cfg.Profile, maxProfileSize)
	}
	p, err := ParseSeccompProfile(data, cfg)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", cfg.Profile, err)
	}
	p.source = cfg.Profile
	return p, nil
}

// defaultProfile builds dockah's default profile for cfg's host.
func defaultProfile(cfg SeccompConfig) (*SeccompProfile, error) {
	h, err := hostFacts(cfg)
	if err != nil {
		return nil, err
	}
	eperm := uint(1) // EPERM
	arches, err := h.arches(nil, nil, cfg.Arches)
	if err != nil {
		return nil, err
	}
	return &SeccompProfile{
		source:        SeccompDefault,
		defaultAction: specs.ActErrno,
		defaultErrno:  &eperm,
		arches:        arches,
		rules:         defaultRuleSet(),
		native:        h.name,
		kernel:        cfg.Kernel,
	}, nil
}

// Source says where the profile came from: "default", "unconfined" or a path.
func (p *SeccompProfile) Source() string { return p.source }

// Unconfined reports whether the profile installs no filter at all.
func (p *SeccompProfile) Unconfined() bool { return p.unconfined }

// Resolve fits the profile to a container with the given bounding
// capability set and returns it in runtime-spec form, the form a
// config.json carries and Compile takes. It is nil when unconfined.
func (p *SeccompProfile) Resolve(bounding CapSet) *specs.LinuxSeccomp {
	if p.unconfined {
		return nil
	}
	out := &specs.LinuxSeccomp{
		DefaultAction:   p.defaultAction,
		DefaultErrnoRet: cloneUint(p.defaultErrno),
		Architectures:   slices.Clone(p.arches),
		Flags:           slices.Clone(p.flags),
	}
	for _, r := range p.rules {
		if !p.applies(r, bounding) {
			continue
		}
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{
			Names:    slices.Clone(r.Names),
			Action:   r.Action,
			ErrnoRet: cloneUint(r.Errno),
			Args:     slices.Clone(r.Args),
		})
	}
	return out
}

// applies evaluates a rule's includes and excludes against the container.
func (p *SeccompProfile) applies(r seccompRule, caps CapSet) bool {
	ex := r.Excludes
	if slices.Contains(ex.Arches, p.native) || caps&ex.Caps != 0 {
		return false
	}
	if !ex.MinKernel.IsZero() && !p.kernel.Less(ex.MinKernel) {
		return false
	}
	in := r.Includes
	if len(in.Arches) > 0 && !slices.Contains(in.Arches, p.native) {
		return false
	}
	if caps&in.Caps != in.Caps {
		return false
	}
	return in.MinKernel.IsZero() || !p.kernel.Less(in.MinKernel)
}

func cloneUint(u *uint) *uint {
	if u == nil {
		return nil
	}
	v := *u
	return &v
}

// hostArch describes the native architecture under its three names.
type hostArch struct {
	name   string       // Docker's name, used by includes/excludes
	arch   specs.Arch   // libseccomp's
	compat []specs.Arch // what Docker's archMap allows besides it
}

// hostArches maps GOARCH to the native architecture.
var hostArches = map[string]hostArch{
	"amd64":    {"amd64", specs.ArchX86_64, []specs.Arch{specs.ArchX86, specs.ArchX32}},
	"386":      {"x86", specs.ArchX86, nil},
	"arm64":    {"arm64", specs.ArchAARCH64, []specs.Arch{specs.ArchARM}},
	"arm":      {"arm", specs.ArchARM, nil},
	"riscv64":  {"riscv64", specs.ArchRISCV64, nil},
	"s390x":    {"s390x", specs.ArchS390X, []specs.Arch{specs.ArchS390}},
	"ppc64le":  {"ppc64le", specs.ArchPPC64LE, nil},
	"ppc64":    {"ppc64", specs.ArchPPC64, nil},
	"loong64":  {"loong64", specs.ArchLOONGARCH64, nil},
	"mips64":   {"mips64", specs.ArchMIPS64, []specs.Arch{specs.ArchMIPS, specs.ArchMIPS64N32}},
	"mips64le": {"mipsel64", specs.ArchMIPSEL64, []specs.Arch{specs.ArchMIPSEL, specs.ArchMIPSEL64N32}},
	"mips":     {"mips", specs.ArchMIPS, nil},
	"mipsle":   {"mipsel", specs.ArchMIPSEL, nil},
}

func hostFacts(cfg SeccompConfig) (hostArch, error) {
	goarch := cfg.GOARCH
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	h, ok := hostArches[goarch]
	if !ok {
		return hostArch{}, fmt.Errorf("seccomp: architecture %s: %w", goarch, ErrNotSupported)
	}
	return h, nil
}

// arches returns the filter's architectures: the native one first, then
// those the profile lists (architectures, or archMap's entry for the
// native arch), then the definition's opt-ins; without duplicates.
func (h hostArch) arches(listed []specs.Arch, archMap map[specs.Arch][]specs.Arch, extra []string) ([]specs.Arch, error) {
	out := []specs.Arch{h.arch}
	add := func(a specs.Arch) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range listed {
		add(a)
	}
	for _, a := range archMap[h.arch] {
		add(a)
	}
	for _, name := range extra {
		a, err := parseArch(name)
		if err != nil {
			return nil, fmt.Errorf("seccomp arches: %w", err)
		}
		if a != h.arch && !slices.Contains(h.compat, a) {
			return nil, fmt.Errorf("seccomp arches: %s does not run on %s (accepted: %s)", name, h.arch, archList(h.compat))
		}
		add(a)
	}
	return out, nil
}
