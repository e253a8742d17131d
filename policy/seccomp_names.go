package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The vocabulary of profiles: actions, operators, architectures, kernels.

var seccompActions = []specs.LinuxSeccompAction{
	specs.ActAllow, specs.ActErrno, specs.ActKill, specs.ActKillProcess,
	specs.ActKillThread, specs.ActTrap, specs.ActTrace, specs.ActLog,
}

var seccompOps = []specs.LinuxSeccompOperator{
	specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
	specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual,
}

// specArches are the architectures a profile may name.
var specArches = []specs.Arch{
	specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM,
	specs.ArchAARCH64, specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32,
	specs.ArchMIPSEL, specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC,
	specs.ArchPPC64, specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X,
	specs.ArchPARISC, specs.ArchPARISC64, specs.ArchRISCV64,
	specs.ArchLOONGARCH64, specs.ArchM68K, specs.ArchSH, specs.ArchSHEB,
}

// dockerArches are the names includes/excludes use for the native arch.
var dockerArches = []string{
	"amd64", "x86", "x32", "arm", "arm64", "loong64", "loongarch64",
	"mips", "mipsel", "mips64", "mips64n32", "mipsel64", "mipsel64n32",
	"mips3l64n32", "ppc", "ppc64", "ppc64le", "riscv64", "s390", "s390x",
}

func knownArch(a specs.Arch) bool   { return slices.Contains(specArches, a) }
func knownDockerArch(a string) bool { return slices.Contains(dockerArches, a) }
func archList(as []specs.Arch) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// parseArch accepts "SCMP_ARCH_X86" or "x86", in any case.
func parseArch(name string) (specs.Arch, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "SCMP_ARCH_") {
		n = "SCMP_ARCH_" + n
	}
	if a := specs.Arch(n); knownArch(a) {
		return a, nil
	}
	return "", fmt.Errorf("unknown architecture %q (accepted: %s)", name, archList(specArches))
}

// checkAction validates an action and its errno (or trace message).
func checkAction(a specs.LinuxSeccompAction, errno *uint) error {
	if a == specs.ActNotify {
		return fmt.Errorf("%s is not supported (dockah runs no seccomp agent)", a)
	}
	if !slices.Contains(seccompActions, a) {
		return fmt.Errorf("unknown action %q (accepted: %s)", a, joinStrings(seccompActions))
	}
	if errno == nil {
		return nil
	}
	switch a {
	case specs.ActErrno:
		if *errno > maxErrno {
			return fmt.Errorf("errno %d out of range 0..%d", *errno, maxErrno)
		}
	case specs.ActTrace:
		if *errno > 0xffff {
			return fmt.Errorf("trace message %d out of range 0..65535", *errno)
		}
	default:
		return fmt.Errorf("errnoRet is only valid with %s or %s", specs.ActErrno, specs.ActTrace)
	}
	return nil
}

// checkArg validates one argument condition.
func checkArg(a specs.LinuxSeccompArg) error {
	if a.Index > 5 {
		return fmt.Errorf("index %d out of range 0..5", a.Index)
	}
	if !slices.Contains(seccompOps, a.Op) {
		return fmt.Errorf("op: unknown operator %q (accepted: %s)", a.Op, joinStrings(seccompOps))
	}
	return nil
}

func joinStrings[S ~string](xs []S) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

// KernelVersion is a kernel's major and minor version; patch levels and
// distribution suffixes do not matter to seccomp rules.
type KernelVersion struct{ Major, Minor uint }

// ParseKernelVersion reads the leading "X.Y" of a release string such as
// uname -r prints ("6.1.0-18-amd64").
func ParseKernelVersion(release string) (KernelVersion, error) {
	var k KernelVersion
	major, rest, ok := strings.Cut(release, ".")
	if !ok {
		return k, fmt.Errorf("kernel release %q: want X.Y...", release)
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	m, err1 := strconv.ParseUint(major, 10, 16)
	n, err2 := strconv.ParseUint(rest[:end], 10, 16)
	if err1 != nil || err2 != nil {
		return k, fmt.Errorf("kernel release %q: want X.Y...", release)
	}
	return KernelVersion{uint(m), uint(n)}, nil
}

// parseMinKernel reads a profile's minKernel: exactly "X.Y", not "0.0".
func parseMinKernel(s string) (KernelVersion, error) {
	bad := fmt.Errorf("%q: want \"X.Y\", such as \"4.8\"", s)
	major, minor, ok := strings.Cut(s, ".")
	if !ok {
		return KernelVersion{}, bad
	}
	m, err1 := strconv.ParseUint(major, 10, 16)
	n, err2 := strconv.ParseUint(minor, 10, 16)
	k := KernelVersion{uint(m), uint(n)}
	if err1 != nil || err2 != nil || k.IsZero() {
		return KernelVersion{}, bad
	}
	return k, nil
}

// IsZero reports whether k is the unknown version 0.0.
func (k KernelVersion) IsZero() bool { return k == KernelVersion{} }

// Less reports whether k is older than o.
func (k KernelVersion) Less(o KernelVersion) bool {
	return k.Major < o.Major || k.Major == o.Major && k.Minor < o.Minor
}

// String formats k as "X.Y".
func (k KernelVersion) String() string { return fmt.Sprintf("%d.%d", k.Major, k.Minor) }
