package confine

import "golang.org/x/sys/unix"

// forwarderArch is the only architecture the forwarder's filter lets
// calls through from (AUDIT_ARCH_AARCH64).
const forwarderArch = unix.AUDIT_ARCH_AARCH64

// forwarderX32 is 0: arm64 has no second calling convention of its own
// (32-bit ARM calls come in as another architecture and are killed).
const forwarderX32 = 0

// forwarderArchSyscalls are the calls of forwarderSyscalls only arm64
// has.
var forwarderArchSyscalls = []uint32{unix.SYS_FSTATAT}
