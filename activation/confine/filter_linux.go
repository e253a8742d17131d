//go:build amd64 || arm64

package confine

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The forwarder's seccomp filter: an allow-list of what the Go runtime and
// the relay need, and nothing that opens a file, makes a process, signals
// another, changes a namespace, mounts or gives a privilege. A system call
// it does not name fails with EPERM (clone3 with ENOSYS, so that the C
// library falls back to clone, whose flags the filter can read); a call of
// another architecture kills the process.

// forwarderSyscalls are allowed whatever their arguments. The
// architecture's own list (forwarderArchSyscalls) adds the calls only it
// has.
var forwarderSyscalls = []uint32{
	// Memory, threads and time, for the Go runtime and the C library.
	unix.SYS_MUNMAP, unix.SYS_MADVISE, unix.SYS_BRK, unix.SYS_FUTEX, unix.SYS_SET_ROBUST_LIST,
	unix.SYS_RSEQ, unix.SYS_SCHED_YIELD, unix.SYS_SCHED_GETAFFINITY, unix.SYS_GETPID,
	unix.SYS_GETTID, unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGRETURN,
	unix.SYS_SIGALTSTACK, unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_CLOCK_GETTIME,
	unix.SYS_GETTIMEOFDAY, unix.SYS_RESTART_SYSCALL, unix.SYS_GETRANDOM, unix.SYS_EXIT,
	unix.SYS_EXIT_GROUP,
	// Descriptors the forwarder already holds, and its poll loops.
	unix.SYS_READ, unix.SYS_WRITE, unix.SYS_CLOSE, unix.SYS_FCNTL, unix.SYS_FSTAT,
	unix.SYS_EPOLL_CREATE1, unix.SYS_EPOLL_CTL, unix.SYS_EPOLL_PWAIT,
	unix.SYS_EPOLL_PWAIT2, unix.SYS_EVENTFD2, unix.SYS_PIPE2, unix.SYS_SPLICE, unix.SYS_PPOLL,
	// The container's init, whose end ends the forwarder.
	unix.SYS_PIDFD_OPEN,
	// Connections: accepted from the activated sockets, made into the
	// container (socket() is checked below).
	unix.SYS_ACCEPT4, unix.SYS_CONNECT, unix.SYS_GETSOCKOPT, unix.SYS_SETSOCKOPT,
	unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME, unix.SYS_SHUTDOWN, unix.SYS_SENDTO,
	unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG,
}

// seccompData offsets (struct seccomp_data): the call's number, the
// architecture, then six 64-bit arguments, whose low half comes first on
// the little-endian architectures this is built for.
const (
	offsetNr   = 0
	offsetArch = 4
	offsetArgs = 16
)

func argLow(i int) uint32 { return uint32(offsetArgs + 8*i) }

// program is a small BPF assembler: instructions with jumps to labels,
// resolved by build.
type program struct {
	ins    []unix.SockFilter
	jumps  []jump
	labels map[string]int
}

// jump is a conditional jump of ins[at] to the labels jt and jf ("" is
// the next instruction).
type jump struct {
	at     int
	jt, jf string
}

func (p *program) label(name string) { p.labels[name] = len(p.ins) }

func (p *program) load(offset uint32) {
	p.ins = append(p.ins, unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offset})
}

func (p *program) ret(action uint32) {
	p.ins = append(p.ins, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: action})
}

// cond compares the accumulator with k (op is BPF_JEQ, BPF_JGE or
// BPF_JSET) and jumps to jt if true, jf if not.
func (p *program) cond(op uint16, k uint32, jt, jf string) {
	p.jumps = append(p.jumps, jump{len(p.ins), jt, jf})
	p.ins = append(p.ins, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k})
}

func (p *program) build() ([]unix.SockFilter, error) {
	for _, j := range p.jumps {
		for _, t := range []struct {
			label string
			off   *uint8
		}{{j.jt, &p.ins[j.at].Jt}, {j.jf, &p.ins[j.at].Jf}} {
			if t.label == "" {
				continue
			}
			to, ok := p.labels[t.label]
			d := to - j.at - 1
			if !ok || d < 0 || d > 255 {
				return nil, fmt.Errorf("seccomp program: jump from %d to %q (%d)", j.at, t.label, to)
			}
			*t.off = uint8(d)
		}
	}
	return p.ins, nil
}

// forwarderFilter returns the forwarder's filter for process pid.
func forwarderFilter(pid int) ([]unix.SockFilter, error) {
	p := &program{labels: map[string]int{}}
	p.load(offsetArch)
	p.cond(unix.BPF_JEQ, forwarderArch, "", "kill")
	p.load(offsetNr)
	if forwarderX32 != 0 {
		// x32 calls share the architecture's number, with this bit.
		p.cond(unix.BPF_JGE, forwarderX32, "kill", "")
	}
	for _, nr := range append(forwarderSyscalls, forwarderArchSyscalls...) {
		p.cond(unix.BPF_JEQ, nr, "allow", "")
	}
	p.cond(unix.BPF_JEQ, unix.SYS_CLONE, "clone", "")
	p.cond(unix.BPF_JEQ, unix.SYS_SOCKET, "socket", "")
	p.cond(unix.BPF_JEQ, unix.SYS_TGKILL, "tgkill", "")
	p.cond(unix.BPF_JEQ, unix.SYS_MMAP, "noexec", "")
	p.cond(unix.BPF_JEQ, unix.SYS_MPROTECT, "noexec", "")
	p.cond(unix.BPF_JEQ, unix.SYS_CLONE3, "enosys", "")
	p.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM))

	// clone: threads only (CLONE_THREAD), never a new process.
	p.label("clone")
	p.load(argLow(0))
	p.cond(unix.BPF_JSET, unix.CLONE_THREAD, "allow", "deny")
	// socket: the container's loopback is reached over IPv4 or IPv6.
	p.label("socket")
	p.load(argLow(0))
	p.cond(unix.BPF_JEQ, unix.AF_INET, "allow", "")
	p.cond(unix.BPF_JEQ, unix.AF_INET6, "allow", "deny")
	// tgkill: the runtime signals its own threads, nobody else.
	p.label("tgkill")
	p.load(argLow(0))
	p.cond(unix.BPF_JEQ, uint32(pid), "allow", "deny")
	// mmap, mprotect: never executable memory.
	p.label("noexec")
	p.load(argLow(2))
	p.cond(unix.BPF_JSET, unix.PROT_EXEC, "deny", "allow")

	p.label("enosys")
	p.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
	p.label("deny")
	p.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM))
	p.label("allow")
	p.ret(unix.SECCOMP_RET_ALLOW)
	p.label("kill")
	p.ret(unix.SECCOMP_RET_KILL_PROCESS)
	return p.build()
}

// loadFilter loads prog on every thread of the process (TSYNC). The
// threads must have no_new_privs, or the caller CAP_SYS_ADMIN.
func loadFilter(prog []unix.SockFilter) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("load the seccomp filter: %w", errno)
	}
	if r != 0 {
		return fmt.Errorf("load the seccomp filter: thread %d cannot take it", r)
	}
	return nil
}
