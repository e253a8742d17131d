package confine

import "golang.org/x/sys/unix"

// forwarderArch is the only architecture the forwarder's filter lets
// calls through from (AUDIT_ARCH_X86_64).
const forwarderArch = unix.AUDIT_ARCH_X86_64

// forwarderX32 is the bit of x32 calls, which come in as x86_64's.
const forwarderX32 = 0x40000000

// forwarderArchSyscalls are the calls of forwarderSyscalls only x86_64
// has (its older poll and epoll calls, fstatat's name).
var forwarderArchSyscalls = []uint32{unix.SYS_POLL, unix.SYS_EPOLL_WAIT, unix.SYS_NEWFSTATAT, unix.SYS_ARCH_PRCTL}
