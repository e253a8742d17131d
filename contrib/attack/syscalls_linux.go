package main

import (
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

func keyctl(*env) outcome {
	_, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
	// ENOKEY: no session keyring, but the call ran.
	return classify("keyctl(KEYCTL_GET_KEYRING_ID, session)", err, unix.ENOKEY)
}

func addKey(*env) outcome {
	// The process keyring dies with the probe; the key is invalidated
	// before that anyway.
	id, err := unix.AddKey("user", "dockah-attack", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
	if err == nil {
		_, _ = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0)
	}
	return classify("add_key(user, process keyring)", err, unix.EDQUOT)
}

func reboot(*env) outcome {
	// Only in a pid namespace of our own, where the kernel answers any
	// command but restart, halt and power-off with EINVAL after the
	// CAP_SYS_BOOT check; and even then the command is only "Ctrl-Alt-Del
	// sends SIGINT to init", the least harmful there is.
	if err := checkContained(); err != nil {
		return failure("not tried: %v", err)
	}
	_, _, e := unix.Syscall6(unix.SYS_REBOOT, unix.LINUX_REBOOT_MAGIC1, unix.LINUX_REBOOT_MAGIC2,
		unix.LINUX_REBOOT_CMD_CAD_OFF, 0, 0, 0)
	return classify("reboot(LINUX_REBOOT_CMD_CAD_OFF)", syscallErr(e), unix.EINVAL)
}

func sethostname(*env) outcome {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return failure("uname: %v", err)
	}
	// The name it already has.
	name := unix.ByteSliceToString(u.Nodename[:])
	return classify(fmt.Sprintf("sethostname(%q)", name), unix.Sethostname([]byte(name)))
}

func settimeofday(*env) outcome {
	// With both arguments NULL the kernel checks CAP_SYS_TIME and then
	// changes nothing.
	_, _, e := unix.Syscall(unix.SYS_SETTIMEOFDAY, 0, 0, 0)
	return classify("settimeofday(NULL, NULL)", syscallErr(e))
}

func clockSettime(*env) outcome {
	// Set the realtime clock to the time it has: read it, and add the
	// monotonic time that passes before the set, so the clock moves by
	// less than the call takes.
	var now, m0, m1 unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &now); err != nil {
		return failure("clock_gettime: %v", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &m0); err != nil {
		return failure("clock_gettime: %v", err)
	}
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &m1)
	set := unix.NsecToTimespec(now.Nano() + (m1.Nano() - m0.Nano()))
	_, _, e := unix.Syscall(unix.SYS_CLOCK_SETTIME, unix.CLOCK_REALTIME, uintptr(unsafe.Pointer(&set)), 0)
	return classify("clock_settime(CLOCK_REALTIME, now)", syscallErr(e))
}

func rawSocket(*env) outcome {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	return socketOutcome("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)", fd, err)
}

func packetSocket(*env) outcome {
	// Protocol 0: the socket receives nothing until bound.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	return socketOutcome("socket(AF_PACKET, SOCK_RAW, 0)", fd, err)
}

func socketOutcome(what string, fd int, err error) outcome {
	if err == nil {
		unix.Close(fd)
	}
	if err == unix.EAFNOSUPPORT {
		return outcome{absent, what + ": EAFNOSUPPORT (the kernel lacks the family)"}
	}
	return classify(what, err)
}

func bpfMapCreate(*env) outcome {
	// union bpf_attr for BPF_MAP_CREATE: a one-entry array map.
	attr := struct{ mapType, keySize, valueSize, maxEntries, mapFlags uint32 }{
		mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1, // BPF_MAP_TYPE_ARRAY
	}
	const bpfMapCreate = 0
	fd, _, e := unix.Syscall(unix.SYS_BPF, bpfMapCreate, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if e == 0 {
		unix.Close(int(fd))
	}
	return classify("bpf(BPF_MAP_CREATE, array)", syscallErr(e))
}

func perfEventOpen(*env) outcome {
	// A system-wide counter on CPU 0: the kernel grants it only with
	// CAP_PERFMON (or perf_event_paranoid < 1), unlike counting oneself.
	// It is created disabled and closed at once.
	attr := unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_SOFTWARE,
		Config: unix.PERF_COUNT_SW_CPU_CLOCK,
		Bits:   unix.PerfBitDisabled,
	}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err == nil {
		unix.Close(fd)
	}
	return classify("perf_event_open(cpu-clock, all processes, cpu 0)", err)
}

// moduleErrors are what the kernel answers garbage with once it let the
// caller load modules: no ELF header, no signature, a bad one.
var moduleErrors = []unix.Errno{unix.ENOEXEC, unix.EINVAL, unix.EBADMSG, unix.EKEYREJECTED, unix.ENOKEY, unix.EFBIG}

func initModule(*env) outcome {
	return classify("init_module(64 zero bytes)", unix.InitModule(make([]byte, 64), ""), moduleErrors...)
}

func finitModule(e *env) outcome {
	path := filepath.Join(e.tmp, "garbage.ko")
	if err := os.WriteFile(path, make([]byte, 64), 0o600); err != nil {
		return failure("write %s: %v", path, err)
	}
	defer os.Remove(path)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return failure("open %s: %v", path, err)
	}
	defer unix.Close(fd)
	return classify("finit_module(a file of 64 zero bytes)", unix.FinitModule(fd, "", 0), moduleErrors...)
}

func kexecLoad(*env) outcome {
	// More segments than KEXEC_SEGMENT_MAX (16): the kernel says EINVAL
	// right after its permission check. (Zero segments would unload a
	// loaded crash kernel.)
	_, _, e := unix.Syscall6(unix.SYS_KEXEC_LOAD, 0, 1000, 0, 0, 0, 0)
	return classify("kexec_load(1000 segments)", syscallErr(e), unix.EINVAL)
}

func swapon(*env) outcome {
	path, _ := unix.BytePtrFromString("/nonexistent-dockah-attack-swap")
	_, _, e := unix.Syscall(unix.SYS_SWAPON, uintptr(unsafe.Pointer(path)), 0, 0)
	return classify("swapon(a missing file)", syscallErr(e), unix.ENOENT)
}

func ioUringSetup(*env) outcome {
	var params [120]byte // struct io_uring_params, all zero
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
	if e == 0 {
		unix.Close(int(fd))
	}
	return classify("io_uring_setup(1 entry)", syscallErr(e))
}
