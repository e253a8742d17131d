package security

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dockah/dockah/policy"
	"github.com/dockah/dockah/tests/box"
)

// attackNames are every attack the probe makes; a probe that skipped one
// would fail the tests rather than pass them quietly.
var attackNames = []string{
	"mount", "umount", "unshare-user", "unshare-mount", "keyctl", "add_key",
	"ptrace-pid1", "reboot", "sethostname", "settimeofday", "clock_settime",
	"mknod-block", "socket-raw", "socket-packet", "bpf", "perf_event_open",
	"init_module", "finit_module", "kexec_load", "open_by_handle_at", "swapon",
	"io_uring_setup", "proc-sysrq-write", "proc-sys-write", "sys-write",
	"proc-kcore-read", "proc-keys-read", "proc-timer_list-read", "fd-leak",
	"cwd-outside-root", "proc-exe", "pid1-privileges",
	"hostroot-volume-write", "proc-hostroot-write", "ptrace-leaked-pid", "setns-host-userns",
}

// mayBeAbsent are the attacks on files some kernels do not have (this
// test host has no /proc/sysrq-trigger and no /proc/kcore). Every other
// attack must be blocked in a default container: a syscall the kernel
// lacks is still answered EPERM by the filter, which runs first.
//
// hostroot-volume-write and ptrace-leaked-pid are absent from containers
// without a host-root volume and a leaked pid (userns_test.go gives them).
var mayBeAbsent = []string{"proc-sysrq-write", "proc-kcore-read", "sys-write", "hostroot-volume-write", "ptrace-leaked-pid"}

// mustFlip are the attacks a weakened container (seccomp unconfined,
// every capability) must report as allowed: blocked only by the filter
// and the capabilities, they prove the suite sees those go. The file
// attacks are not among them: masks and read-only mounts do not depend on
// either; nor are module loading and kexec, which a kernel may lack.
var mustFlip = []string{
	"mount", "umount", "unshare-user", "unshare-mount", "keyctl", "add_key",
	"ptrace-pid1", "reboot", "sethostname", "settimeofday", "clock_settime",
	"mknod-block", "socket-raw", "socket-packet", "bpf", "perf_event_open",
	"open_by_handle_at", "swapon", "io_uring_setup", "proc-hostroot-write",
}

// weakened relaxes everything the definition can relax: no filter,
// every capability, no no_new_privs. A machine whose own bounding set
// lacks some capability (this test host has no CAP_SYS_RESOURCE) cannot
// hand it to a container, and the shim then fails to start one that asks
// for ALL (capset: EPERM); those are dropped by name, and the test says
// so. None of the attacks needs them.
func weakened(t *testing.T, b *box.Box) string {
	t.Helper()
	return weakenedWith(t, b, "host")
}

// weakenedWith is weakened in the user namespace mode userns: "host",
// where the filter and the capabilities are all that stand, or "auto".
func weakenedWith(t *testing.T, b *box.Box, userns string) string {
	t.Helper()
	missing, err := unavailableCaps(b)
	if err != nil {
		t.Fatal(err)
	}
	def := "\n[security]\nuserns = \"" + userns + "\"\nseccomp = \"unconfined\"\ncapabilities_add = [\"ALL\"]\nno_new_privileges = false\n"
	if len(missing) > 0 {
		t.Logf("the box's bounding set lacks %s: dropped from ALL", strings.Join(missing, ", "))
		def += "capabilities_drop = [\"" + strings.Join(missing, "\", \"") + "\"]\n"
	}
	return def
}

// unavailableCaps lists the capabilities policy knows that the box's
// systemd, and so every service in it, does not have.
func unavailableCaps(b *box.Box) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.PID1()))
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			bnd, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("parse CapBnd of the box: %w", err)
			}
			return (policy.AllCaps() &^ policy.CapSet(bnd)).Names(), nil
		}
	}
	return nil, fmt.Errorf("no CapBnd in the status of the box's pid 1")
}

// Ports 18300-18399 belong to this package.

// The shapes of container the attacks run in: the probe as pid 1; under
// dockah's init, which runs the host's shim binary as pid 1 (what
// ptrace-pid1 and proc-exe aim at); and with two sockets passed by
// systemd, which are the only descriptors fd-leak may find beyond stdio.
type shape struct{ name, init, extra string }

var (
	pid1Shape    = shape{"pid1", "false", ""}
	initShape    = shape{"init", "true", ""}
	socketsShape = shape{"sockets", "false", `
[[socket]]
listen = "127.0.0.1:18300"
name = "stream"

[[socket]]
listen = "127.0.0.1:18301"
type = "datagram"
name = "dgram"
`}
)

func definition(init, extra string) string {
	return "[container]\nimage = \"" + attackImage + "\"\ninit = " + init + "\n" + extra
}

func checkComplete(t *testing.T, run *probeRun) {
	t.Helper()
	for _, name := range attackNames {
		if _, ok := run.reports[name]; !ok {
			t.Errorf("the probe made no %s attack", name)
		}
	}
	if run.summary.Attacks != len(run.reports) {
		t.Errorf("summary counts %d attacks, %d reported", run.summary.Attacks, len(run.reports))
	}
	for _, name := range run.summary.Errors {
		t.Errorf("%s: the probe could not tell: %s", name, run.reports[name].Detail)
	}
}

// TestAttacksFailInDefaultContainer runs every attack as root in a
// default container: each must be blocked.
func TestAttacksFailInDefaultContainer(t *testing.T) {
	b := attackBox(t)
	for _, shape := range []shape{pid1Shape, initShape, socketsShape} {
		t.Run(shape.name, func(t *testing.T) {
			run := mustStart(t, b, "attack-default-"+shape.name, definition(shape.init, shape.extra))
			t.Logf("default container, init = %s:\n%s", shape.init, run.table())
			checkComplete(t, run)
			if shape.name == socketsShape.name {
				fds := run.reports["fd-leak"].Detail
				for _, want := range []string{"3->socket:", "4->socket:", "(2 passed socket(s))"} {
					if !strings.Contains(fds, want) {
						t.Errorf("the sockets were not passed as fds 3 and 4 (no %q): %s", want, fds)
					}
				}
			}
			for _, name := range run.order {
				rep := run.reports[name]
				switch {
				case rep.Result == "blocked":
				case rep.Result == "absent" && slices.Contains(mayBeAbsent, name):
				default:
					t.Errorf("%s was not blocked: %s: %s", name, rep.Result, rep.Detail)
				}
			}
		})
	}
}

// TestNegativeControl runs the same probe in a container with every
// relaxation the definition offers: the attacks the filter and the
// capabilities stop must now succeed, or the suite would not notice
// those defences going.
func TestNegativeControl(t *testing.T) {
	b := attackBox(t)
	for _, shape := range []shape{pid1Shape, initShape} {
		t.Run(shape.name, func(t *testing.T) {
			run := mustStart(t, b, "attack-weak-"+shape.name, definition(shape.init, weakened(t, b)+shape.extra))
			t.Logf("weakened container, init = %s:\n%s", shape.init, run.table())
			checkComplete(t, run)
			flip := mustFlip
			if shape.init == "true" {
				// With CAP_SYS_PTRACE the init's binary is reachable.
				flip = append(slices.Clone(flip), "proc-exe")
			}
			for _, name := range flip {
				if rep := run.reports[name]; rep.Result != "allowed" {
					t.Errorf("%s still %s with seccomp unconfined and every capability: %s", name, rep.Result, rep.Detail)
				}
			}
		})
	}
}

// TestAddedPtraceCannotReachAPrivilegedInit: a definition that adds
// SYS_PTRACE (the documented way to run strace or gdb) may trace its own
// processes, but never one more privileged than the container: under
// init = true, tracing dockah's init must be refused, or the init must
// hold nothing the container lacks. Otherwise code injected into the init
// runs with capabilities the container never had, without its filter.
func TestAddedPtraceCannotReachAPrivilegedInit(t *testing.T) {
	b := attackBox(t)
	run := mustStart(t, b, "attack-ptrace-init", definition("true", "\n[security]\ncapabilities_add = [\"SYS_PTRACE\"]\n"))
	t.Logf("default container with SYS_PTRACE, init = true:\n%s", run.table())
	trace, priv := run.reports["ptrace-pid1"], run.reports["pid1-privileges"]
	if trace.Result == "allowed" && priv.Result != "blocked" {
		t.Errorf("the container can trace a more privileged pid 1:\n  %s\n  %s", trace.Detail, priv.Detail)
	}
}

// TestWorkdirThroughProcFdStaysInRoot is CVE-2024-21626's shape: a
// working directory of /proc/self/fd/N names whatever the setup stage
// has open as N, a host directory perhaps. The container must either
// refuse to start or end up with its working directory inside its root.
func TestWorkdirThroughProcFdStaysInRoot(t *testing.T) {
	b := attackBox(t)
	for fd := 3; fd <= 8; fd++ {
		workdir := fmt.Sprintf("/proc/self/fd/%d", fd)
		run, ok, journal := start(t, b, fmt.Sprintf("attack-workdir-%d", fd), definition("false", "working_dir = \""+workdir+"\"\n"))
		if !ok {
			i := strings.Index(journal, "working directory "+workdir)
			if i < 0 {
				t.Errorf("working_dir %s: the container did not start, but not for its working directory:\n%s", workdir, journal)
				continue
			}
			line, _, _ := strings.Cut(journal[i:], "\n")
			t.Logf("refused: %s", line)
			continue
		}
		if rep := run.reports["cwd-outside-root"]; rep.Result != "blocked" {
			t.Errorf("working_dir %s: %s: %s", workdir, rep.Result, rep.Detail)
		}
	}
}
