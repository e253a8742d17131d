//go:build cgo

package policy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// scmpArches maps runtime-spec architectures to libseccomp's and to the
// AUDIT_ARCH_* value the kernel reports in seccomp_data.arch.
var scmpArches = map[specs.Arch]struct {
	arch  seccomp.ScmpArch
	audit uint32
}{
	specs.ArchX86:         {seccomp.ArchX86, unix.AUDIT_ARCH_I386},
	specs.ArchX86_64:      {seccomp.ArchAMD64, unix.AUDIT_ARCH_X86_64},
	specs.ArchX32:         {seccomp.ArchX32, unix.AUDIT_ARCH_X86_64},
	specs.ArchARM:         {seccomp.ArchARM, unix.AUDIT_ARCH_ARM},
	specs.ArchAARCH64:     {seccomp.ArchARM64, unix.AUDIT_ARCH_AARCH64},
	specs.ArchMIPS:        {seccomp.ArchMIPS, unix.AUDIT_ARCH_MIPS},
	specs.ArchMIPS64:      {seccomp.ArchMIPS64, unix.AUDIT_ARCH_MIPS64},
	specs.ArchMIPS64N32:   {seccomp.ArchMIPS64N32, unix.AUDIT_ARCH_MIPS64N32},
	specs.ArchMIPSEL:      {seccomp.ArchMIPSEL, unix.AUDIT_ARCH_MIPSEL},
	specs.ArchMIPSEL64:    {seccomp.ArchMIPSEL64, unix.AUDIT_ARCH_MIPSEL64},
	specs.ArchMIPSEL64N32: {seccomp.ArchMIPSEL64N32, unix.AUDIT_ARCH_MIPSEL64N32},
	specs.ArchPPC:         {seccomp.ArchPPC, unix.AUDIT_ARCH_PPC},
	specs.ArchPPC64:       {seccomp.ArchPPC64, unix.AUDIT_ARCH_PPC64},
	specs.ArchPPC64LE:     {seccomp.ArchPPC64LE, unix.AUDIT_ARCH_PPC64LE},
	specs.ArchS390:        {seccomp.ArchS390, unix.AUDIT_ARCH_S390},
	specs.ArchS390X:       {seccomp.ArchS390X, unix.AUDIT_ARCH_S390X},
	specs.ArchPARISC:      {seccomp.ArchPARISC, unix.AUDIT_ARCH_PARISC},
	specs.ArchPARISC64:    {seccomp.ArchPARISC64, unix.AUDIT_ARCH_PARISC64},
	specs.ArchRISCV64:     {seccomp.ArchRISCV64, unix.AUDIT_ARCH_RISCV64},
	specs.ArchLOONGARCH64: {seccomp.ArchLOONGARCH64, unix.AUDIT_ARCH_LOONGARCH64},
}

var scmpOps = map[specs.LinuxSeccompOperator]seccomp.ScmpCompareOp{
	specs.OpNotEqual:     seccomp.CompareNotEqual,
	specs.OpLessThan:     seccomp.CompareLess,
	specs.OpLessEqual:    seccomp.CompareLessOrEqual,
	specs.OpEqualTo:      seccomp.CompareEqual,
	specs.OpGreaterEqual: seccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  seccomp.CompareGreater,
	specs.OpMaskedEqual:  seccomp.CompareMaskedEqual,
}

// CompileBPF compiles p for a container with the given bounding set.
// It returns nil for an unconfined profile.
func CompileBPF(p *SeccompProfile, bounding CapSet) (Program, error) {
	return Compile(p.Resolve(bounding))
}

// Compile turns a resolved profile (runtime-spec form, as in a config.json)
// into a BPF program with libseccomp. This takes milliseconds for a
// Docker-sized profile; the start path uses Cached instead. Syscall names
// the host's libseccomp does not know are skipped, as runc does. A nil
// profile compiles to a nil program.
func Compile(s *specs.LinuxSeccomp) (Program, error) {
	if s == nil {
		return nil, nil
	}
	if err := checkResolved(s); err != nil {
		return nil, err
	}
	def := scmpAction(s.DefaultAction, s.DefaultErrnoRet)
	filter, err := seccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("create seccomp filter: %w", err)
	}
	defer filter.Release()
	// A syscall from an architecture the filter does not list kills the
	// process: it cannot be judged by rules written for another ABI.
	if err := filter.SetBadArchAction(seccomp.ActKillProcess); err != nil {
		return nil, fmt.Errorf("set seccomp bad-arch action: %w", err)
	}
	// A binary tree of syscall numbers instead of a linear list: every
	// allowed syscall pays O(log n) comparisons instead of up to 400.
	if err := filter.SetOptimize(2); err != nil {
		return nil, fmt.Errorf("set seccomp optimize level: %w", err)
	}
	for _, a := range filterArches(s) {
		if err := filter.AddArch(scmpArches[a].arch); err != nil {
			return nil, fmt.Errorf("add seccomp architecture %s: %w", a, err)
		}
	}
	for i, r := range s.Syscalls {
		if err := addRule(filter, def, r); err != nil {
			return nil, fmt.Errorf("seccomp syscalls[%d]: %w", i, err)
		}
	}
	prog, err := exportBPF(filter)
	if err != nil {
		return nil, err
	}
	if s.DefaultAction == specs.ActAllow || s.DefaultAction == specs.ActLog {
		return prog, prog.check() // a deny-list: new syscalls are allowed anyway
	}
	stub, err := enosysStub(syscallLimits(s))
	if err != nil {
		return nil, err
	}
	prog = append(encodeFilters(stub), prog...)
	return prog, prog.check()
}

// checkResolved validates a runtime-spec profile, which may come from a
// config.json written by anyone.
func checkResolved(s *specs.LinuxSeccomp) error {
	var errs []error
	if err := checkAction(s.DefaultAction, s.DefaultErrnoRet); err != nil {
		errs = append(errs, fmt.Errorf("seccomp defaultAction: %w", err))
	}
	for i, a := range s.Architectures {
		if _, ok := scmpArches[a]; !ok {
			errs = append(errs, fmt.Errorf("seccomp architectures[%d]: unsupported %q", i, a))
		}
	}
	if len(s.ListenerPath) > 0 || slices.Contains(s.Flags, specs.LinuxSeccompFlagWaitKillableRecv) {
		errs = append(errs, errors.New("seccomp user notification is not supported"))
	}
	for i, r := range s.Syscalls {
		if err := checkAction(r.Action, r.ErrnoRet); err != nil {
			errs = append(errs, fmt.Errorf("seccomp syscalls[%d].action: %w", i, err))
		}
		for j, a := range r.Args {
			if err := checkArg(a); err != nil {
				errs = append(errs, fmt.Errorf("seccomp syscalls[%d].args[%d]: %w", i, j, err))
			}
		}
	}
	return errors.Join(errs...)
}

// scmpAction converts a checked action; errno defaults to EPERM.
func scmpAction(a specs.LinuxSeccompAction, errno *uint) seccomp.ScmpAction {
	code := int16(unix.EPERM)
	if errno != nil {
		code = int16(uint16(*errno))
	}
	switch a {
	case specs.ActAllow:
		return seccomp.ActAllow
	case specs.ActErrno:
		return seccomp.ActErrno.SetReturnCode(code)
	case specs.ActTrace:
		return seccomp.ActTrace.SetReturnCode(code)
	case specs.ActKillProcess:
		return seccomp.ActKillProcess
	case specs.ActTrap:
		return seccomp.ActTrap
	case specs.ActLog:
		return seccomp.ActLog
	}
	return seccomp.ActKillThread // SCMP_ACT_KILL and SCMP_ACT_KILL_THREAD
}

// addRule adds one runtime-spec rule. As in runc, conditions on distinct
// arguments are AND-ed in one rule, but when an argument is compared more
// than once every condition becomes a rule of its own (OR), because
// libseccomp rejects two checks on one argument.
func addRule(f *seccomp.ScmpFilter, def seccomp.ScmpAction, r specs.LinuxSyscall) error {
	act := scmpAction(r.Action, r.ErrnoRet)
	if act == def {
		return nil // libseccomp refuses rules that repeat the default
	}
	conds := make([]seccomp.ScmpCondition, 0, len(r.Args))
	seen := map[uint]bool{}
	repeated := false
	for _, a := range r.Args {
		values := []uint64{a.Value}
		if a.Op == specs.OpMaskedEqual {
			values = append(values, a.ValueTwo) // mask, then datum
		}
		c, err := seccomp.MakeCondition(a.Index, scmpOps[a.Op], values...)
		if err != nil {
			return fmt.Errorf("condition on argument %d: %w", a.Index, err)
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
		conds = append(conds, c)
	}
	for _, name := range r.Names {
		nr, err := seccomp.GetSyscallFromName(name)
		if err != nil {
			continue // unknown to this libseccomp: skipped, as runc does
		}
		if !repeated {
			if err := f.AddRuleConditional(nr, act, conds); err != nil {
				return fmt.Errorf("add rule for %s: %w", name, err)
			}
			continue
		}
		for _, c := range conds {
			if err := f.AddRuleConditional(nr, act, []seccomp.ScmpCondition{c}); err != nil {
				return fmt.Errorf("add rule for %s: %w", name, err)
			}
		}
	}
	return nil
}

// syscallLimits finds, per architecture, the largest syscall number the
// profile names. Architectures where it names none get no limit.
func syscallLimits(s *specs.LinuxSeccomp) []archLimit {
	var out []archLimit
	for _, a := range filterArches(s) {
		info := scmpArches[a]
		found, max := false, uint32(0)
		for _, r := range s.Syscalls {
			for _, name := range r.Names {
				nr, err := seccomp.GetSyscallFromNameByArch(name, info.arch)
				if err != nil || int32(nr) < 0 {
					continue // unknown, or a pseudo-syscall on this arch
				}
				found = true
				max = maxU32(max, uint32(nr))
			}
		}
		if found {
			out = append(out, archLimit{audit: info.audit, x32: a == specs.ArchX32, max: max})
		}
	}
	return out
}

// filterArches is the profile's architectures, or the native one when it
// lists none (libseccomp's behaviour, made explicit for the stub).
func filterArches(s *specs.LinuxSeccomp) []specs.Arch {
	if len(s.Architectures) > 0 {
		return s.Architectures
	}
	if h, ok := hostArches[runtime.GOARCH]; ok {
		return []specs.Arch{h.arch}
	}
	return nil
}

func maxU32(a, b uint32) uint32 {
	if a > b {
		return a
	}
	return b
}

// exportBPF writes the filter to an in-memory file and reads it back;
// the host's libseccomp (2.5) has no export to memory.
func exportBPF(f *seccomp.ScmpFilter) (Program, error) {
	fd, err := unix.MemfdCreate("dockah-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("export seccomp filter: memfd_create: %w", err)
	}
	file := os.NewFile(uintptr(fd), "dockah-seccomp")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("export seccomp filter: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("export seccomp filter: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(file, 8*maxInsns+1))
	if err != nil {
		return nil, fmt.Errorf("export seccomp filter: %w", err)
	}
	return Program(data), nil
}

// libseccompVersion is the version of the libseccomp linked in: part of
// the cache key, so that a program compiled by another goes stale.
func libseccompVersion() (major, minor, micro uint) {
	return seccomp.GetLibraryVersion()
}
