package policy

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Program is a compiled seccomp filter: an array of struct sock_filter in
// the host's byte order, 8 bytes per instruction, ready for seccomp(2).
// A nil Program means "no filter" (seccomp = "unconfined").
type Program []byte

// maxInsns is BPF_MAXINSNS, the most instructions the kernel accepts.
const maxInsns = 4096

// Len is the number of instructions.
func (p Program) Len() int { return len(p) / 8 }

// Filters decodes the program into the form unix.SockFprog points to.
func (p Program) Filters() []unix.SockFilter {
	out := make([]unix.SockFilter, p.Len())
	for i := range out {
		b := p[i*8:]
		out[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:]),
		}
	}
	return out
}

// SockFprog returns the struct seccomp(SECCOMP_SET_MODE_FILTER) takes. It
// points into a fresh copy of the instructions, which it keeps alive; it
// is nil for an empty program.
func (p Program) SockFprog() *unix.SockFprog {
	f := p.Filters()
	if len(f) == 0 {
		return nil
	}
	return &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
}

// encodeFilters is the inverse of Program.Filters.
func encodeFilters(fs []unix.SockFilter) Program {
	p := make(Program, 8*len(fs))
	for i, f := range fs {
		b := p[i*8:]
		binary.NativeEndian.PutUint16(b[0:], f.Code)
		b[2], b[3] = f.Jt, f.Jf
		binary.NativeEndian.PutUint32(b[4:], f.K)
	}
	return p
}

// check validates the shape of a program read from anywhere.
func (p Program) check() error {
	switch {
	case len(p) == 0:
		return fmt.Errorf("empty seccomp program")
	case len(p)%8 != 0:
		return fmt.Errorf("seccomp program of %d bytes: not a multiple of 8", len(p))
	case p.Len() > maxInsns:
		return fmt.Errorf("seccomp program of %d instructions: more than %d", p.Len(), maxInsns)
	}
	return nil
}

// Classic BPF opcodes and seccomp return values used here and in String.
const (
	bpfLdAbs  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfJa     = unix.BPF_JMP | unix.BPF_JA
	bpfJeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJgt    = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	bpfJge    = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	bpfJset   = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfRet    = unix.BPF_RET | unix.BPF_K
	retErrno  = unix.SECCOMP_RET_ERRNO
	offNr     = 0 // offsetof(struct seccomp_data, nr)
	offArch   = 4 // offsetof(struct seccomp_data, arch)
	x32Bit    = 0x40000000
	retAction = 0xffff0000 // SECCOMP_RET_ACTION_FULL
)

// String disassembles the program, one instruction a line, for golden
// files and debugging.
func (p Program) String() string {
	var b strings.Builder
	for i, f := range p.Filters() {
		fmt.Fprintf(&b, "%04d %s\n", i, disasm(f, i))
	}
	return b.String()
}

func disasm(f unix.SockFilter, pc int) string {
	jump := func(op string) string {
		return fmt.Sprintf("%-4s #%#x, %d, %d", op, f.K, pc+1+int(f.Jt), pc+1+int(f.Jf))
	}
	switch f.Code {
	case bpfLdAbs:
		name := map[uint32]string{offNr: "nr", offArch: "arch"}[f.K]
		if name == "" {
			if f.K >= 16 && f.K < 64 {
				name = fmt.Sprintf("arg%d.%s", (f.K-16)/8, map[uint32]string{0: "lo", 4: "hi"}[f.K%8])
			} else {
				name = fmt.Sprintf("%d", f.K)
			}
		}
		return "ld   [" + name + "]"
	case bpfJa:
		return fmt.Sprintf("ja   %d", pc+1+int(f.K))
	case bpfJeq:
		return jump("jeq")
	case bpfJgt:
		return jump("jgt")
	case bpfJge:
		return jump("jge")
	case bpfJset:
		return jump("jset")
	case bpfRet:
		return "ret  " + retName(f.K)
	case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
		return fmt.Sprintf("and  #%#x", f.K)
	case unix.BPF_MISC | unix.BPF_TAX:
		return "tax"
	case unix.BPF_MISC | unix.BPF_TXA:
		return "txa"
	case unix.BPF_LD | unix.BPF_MEM:
		return fmt.Sprintf("ld   M[%d]", f.K)
	case unix.BPF_ST:
		return fmt.Sprintf("st   M[%d]", f.K)
	}
	return fmt.Sprintf("code=%#04x jt=%d jf=%d k=%#x", f.Code, f.Jt, f.Jf, f.K)
}

func retName(k uint32) string {
	data := k &^ retAction
	switch k & retAction {
	case unix.SECCOMP_RET_ALLOW:
		return "ALLOW"
	case unix.SECCOMP_RET_ERRNO:
		return fmt.Sprintf("ERRNO(%d)", data)
	case unix.SECCOMP_RET_KILL_PROCESS:
		return "KILL_PROCESS"
	case unix.SECCOMP_RET_KILL_THREAD:
		return "KILL_THREAD"
	case unix.SECCOMP_RET_TRAP:
		return "TRAP"
	case unix.SECCOMP_RET_TRACE:
		return fmt.Sprintf("TRACE(%d)", data)
	case unix.SECCOMP_RET_LOG:
		return "LOG"
	}
	return fmt.Sprintf("%#x", k)
}
