package main

import (
	"bytes"
	"errors"
	"os"
)

// attack is one attempt.
type attack struct {
	name string
	run  func(*env) outcome
}

// attacks run in this order. The ones that change the container (umount)
// cannot disturb a later one.
var attacks = []attack{
	{"mount", mountTmpfs},
	{"umount", umountMqueue},
	{"unshare-user", unshareUser},
	{"unshare-mount", unshareMount},
	{"keyctl", keyctl},
	{"add_key", addKey},
	{"ptrace-pid1", ptracePID1},
	{"reboot", reboot},
	{"sethostname", sethostname},
	{"settimeofday", settimeofday},
	{"clock_settime", clockSettime},
	{"mknod-block", mknodBlock},
	{"socket-raw", rawSocket},
	{"socket-packet", packetSocket},
	{"bpf", bpfMapCreate},
	{"perf_event_open", perfEventOpen},
	{"init_module", initModule},
	{"finit_module", finitModule},
	{"kexec_load", kexecLoad},
	{"open_by_handle_at", openByHandleAt},
	{"swapon", swapon},
	{"io_uring_setup", ioUringSetup},
	{"proc-sysrq-write", writeFile("/proc/sysrq-trigger")},
	{"proc-sys-write", writeFile("/proc/sys/kernel/core_pattern")},
	{"sys-write", writeFirst("/sys/kernel/uevent_helper", "/sys/kernel/rcu_expedited", "/sys/kernel/profiling")},
	{"proc-kcore-read", readFile("/proc/kcore")},
	{"proc-keys-read", readFile("/proc/keys")},
	{"proc-timer_list-read", readFile("/proc/timer_list")},
	{"fd-leak", fdLeak},
	{"cwd-outside-root", cwdOutsideRoot},
	{"proc-exe", procExe},
	{"pid1-privileges", pid1Privileges},
	{"hostroot-volume-write", hostRootVolumeWrite},
	{"proc-hostroot-write", procHostRootWrite},
	{"ptrace-leaked-pid", ptraceLeakedPID},
	{"setns-host-userns", setnsHostUserNS},
}

// env is what the attempts share.
type env struct {
	// tmp is a private directory for the files the attempts make.
	tmp string
	// fds are the descriptors open when the probe started.
	fds []fdInfo
}

func newEnv(fds []fdInfo) (*env, error) {
	dir, err := os.MkdirTemp("", "attack-")
	if err != nil {
		// An image without /tmp: the root is writable all the same.
		if dir, err = os.MkdirTemp("/", ".attack-"); err != nil {
			return nil, err
		}
	}
	return &env{tmp: dir, fds: fds}, nil
}

func (e *env) close() { os.RemoveAll(e.tmp) }

// checkContained refuses to attack unless this process runs in a pid
// namespace of its own: as its pid 1, or under dockah's init. A probe
// run by mistake as root on a host would otherwise try its attacks on
// the host itself.
func checkContained() error {
	if os.Getpid() == 1 {
		return nil
	}
	cmdline, err := os.ReadFile("/proc/1/cmdline")
	if err == nil && bytes.HasPrefix(cmdline, []byte("dockah-activate\x00")) {
		return nil
	}
	return errors.New("not in a container's pid namespace (pid 1 is neither this probe nor dockah's init): refusing to attack the host; -force overrides")
}
