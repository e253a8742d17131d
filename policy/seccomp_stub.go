package policy

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// The ENOSYS stub.
//
// libseccomp gives every syscall the profile does not name the default
// action, EPERM in the default profile. That is wrong for a syscall newer
// than the profile: libc tries the new call first (clone3, faccessat2,
// fchmodat2...) and falls back to the old one only on ENOSYS, so EPERM
// breaks programs built against a newer libc. Like runc, dockah puts a few
// instructions in front of libseccomp's program: on each architecture, a
// syscall number above the largest one the profile names fails with ENOSYS
// and never reaches the profile. Numbers at or below it get the profile's
// answer, so io_uring_setup or kexec_load still fail with EPERM.

// archLimit is the largest syscall number a profile names on one
// architecture, as seccomp_data reports it (arch, nr).
type archLimit struct {
	audit uint32 // AUDIT_ARCH_* value
	x32   bool   // x32 ABI: shares AUDIT_ARCH_X86_64, numbers carry x32Bit
	max   uint32
}

// stubGroup gathers the limits that share one audit architecture.
type stubGroup struct {
	audit     uint32
	low, high *uint32 // high: the x32 half of AUDIT_ARCH_X86_64
}

// enosysStub returns the instructions to run before libseccomp's program.
// It returns nil when there is nothing to limit.
func enosysStub(limits []archLimit) ([]unix.SockFilter, error) {
	if len(limits) == 0 {
		return nil, nil
	}
	byAudit := map[uint32]*stubGroup{}
	for _, l := range limits {
		g := byAudit[l.audit]
		if g == nil {
			g = &stubGroup{audit: l.audit}
			byAudit[l.audit] = g
		}
		m := l.max
		if l.x32 {
			g.high = &m
		} else {
			g.low = &m
		}
	}
	groups := make([]*stubGroup, 0, len(byAudit))
	for _, g := range byAudit {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].audit < groups[j].audit })

	var a assembler
	for i, g := range groups {
		next := "orig"
		if i+1 < len(groups) {
			next = fmt.Sprintf("group%d", i+1)
		}
		a.label(fmt.Sprintf("group%d", i))
		a.op(bpfLdAbs, offArch)
		a.jump(bpfJeq, g.audit, "", next)
		a.op(bpfLdAbs, offNr)
		if g.audit == unix.AUDIT_ARCH_X86_64 {
			// x32 calls carry x32Bit; without SCMP_ARCH_X32 in the
			// filter they go on to libseccomp, which rejects them.
			x32 := fmt.Sprintf("x32_%d", i)
			a.jump(bpfJge, x32Bit, x32, "")
			a.limit(g.low)
			a.label(x32)
			a.limit(g.high)
		} else {
			a.limit(g.low)
		}
	}
	a.label("enosys")
	a.op(bpfRet, retErrno|uint32(unix.ENOSYS))
	a.label("orig")
	return a.assemble()
}

// assembler builds classic BPF with symbolic forward jumps.
type assembler struct {
	insns  []pending
	labels map[string]int
}

type pending struct {
	f      unix.SockFilter
	jt, jf string // labels; "" means the next instruction
	ja     string
}

func (a *assembler) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.insns)
}

func (a *assembler) op(code uint16, k uint32) {
	a.insns = append(a.insns, pending{f: unix.SockFilter{Code: code, K: k}})
}

func (a *assembler) jump(code uint16, k uint32, jt, jf string) {
	a.insns = append(a.insns, pending{f: unix.SockFilter{Code: code, K: k}, jt: jt, jf: jf})
}

// limit emits "syscall number above max: ENOSYS, else the profile"; with
// no max, straight to the profile.
func (a *assembler) limit(max *uint32) {
	if max == nil {
		a.insns = append(a.insns, pending{f: unix.SockFilter{Code: bpfJa}, ja: "orig"})
		return
	}
	a.jump(bpfJgt, *max, "enosys", "orig")
}

// assemble resolves labels into relative offsets.
func (a *assembler) assemble() ([]unix.SockFilter, error) {
	out := make([]unix.SockFilter, len(a.insns))
	offset := func(pc int, label string) (int, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := a.labels[label]
		if !ok || to <= pc {
			return 0, fmt.Errorf("bpf stub: bad jump to %q", label)
		}
		return to - pc - 1, nil
	}
	for pc, in := range a.insns {
		f := in.f
		jt, err1 := offset(pc, in.jt)
		jf, err2 := offset(pc, in.jf)
		ja, err3 := offset(pc, in.ja)
		if err := firstErr(err1, err2, err3); err != nil {
			return nil, err
		}
		if jt > 255 || jf > 255 {
			return nil, fmt.Errorf("bpf stub: jump too far at %d", pc)
		}
		f.Jt, f.Jf = uint8(jt), uint8(jf)
		if in.ja != "" {
			f.K = uint32(ja)
		}
		out[pc] = f
	}
	return out, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
