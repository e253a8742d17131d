package security

import (
	"slices"
	"testing"

	"github.com/dockah/dockah/tests/box"
)

// The attacks in containers with a user namespace of their own
// (userns = "auto"): root there is an unprivileged range of host IDs, so
// a host root's file reached through a volume, host root's /proc files,
// a host process whose pid leaked and the host's user namespace are out
// of reach, even with every capability and no seccomp filter.

const hostRootDir = "/opt/dockah-attack-hostroot"

// usernsDefinition is the attack container with its own user namespace,
// a volume of host root's files with the host's IDs (idmap = false) and
// the pid of a process of the box (systemd-journald's) in its
// environment, as if it had leaked.
func usernsDefinition(t *testing.T, b *box.Box, extra string) string {
	t.Helper()
	return usernsDefinitionInit(t, b, "false", extra)
}

// usernsDefinitionInit is usernsDefinition with init = init.
func usernsDefinitionInit(t *testing.T, b *box.Box, init, extra string) string {
	t.Helper()
	if err := b.WriteFile(hostRootDir+"/owned-by-host-root", []byte("host root's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pid, err := b.Property("systemd-journald.service", "MainPID")
	if err != nil || pid == "0" {
		t.Fatalf("journald's pid: %q, %v", pid, err)
	}
	return definition(init, `environment = { ATTACK_LEAKED_PID = "`+pid+`" }

[[volume]]
source = "`+hostRootDir+`"
target = "/hostroot"
idmap = false
read_only = false
`+extra+`
[security]
userns = "auto"
`)
}

// TestAttacksFailInUserNSContainer runs every attack as root in a
// default container with userns = "auto": each must be blocked, and the
// attacks on host root's volume and a leaked pid must have been made.
func TestAttacksFailInUserNSContainer(t *testing.T) {
	b := attackBox(t)
	sockets := `
[[socket]]
listen = "127.0.0.1:18310"
name = "stream"

[[socket]]
listen = "127.0.0.1:18311"
type = "datagram"
name = "dgram"
`
	for name, init := range map[string]string{"pid1": "false", "sockets": "false", "init": "true"} {
		t.Run(name, func(t *testing.T) {
			extra := ""
			if name == "sockets" {
				extra = sockets
			}
			run := mustStart(t, b, "attack-userns-"+name, usernsDefinitionInit(t, b, init, extra))
			t.Logf("userns = auto:\n%s", run.table())
			checkComplete(t, run)
			for _, name := range run.order {
				rep := run.reports[name]
				absentOK := slices.Contains(mayBeAbsent, name) && name != "hostroot-volume-write" && name != "ptrace-leaked-pid"
				if rep.Result != "blocked" && (rep.Result != "absent" || !absentOK) {
					t.Errorf("%s was not blocked: %s: %s", name, rep.Result, rep.Detail)
				}
			}
		})
	}
}

// userNSBlocked are the attacks that need a privilege of the host's user
// namespace, or host root's ownership: a container with its own user
// namespace must fail them with every capability and no filter.
var userNSBlocked = []string{
	"settimeofday", "clock_settime", "mknod-block", "open_by_handle_at", "swapon",
	"reboot", "proc-sys-write", "hostroot-volume-write", "proc-hostroot-write",
	"ptrace-leaked-pid", "setns-host-userns",
}

// userNSMayBeAbsent: a kernel without modules or kexec has neither call.
var userNSMayBeAbsent = []string{"init_module", "finit_module", "kexec_load"}

// TestUserNSNegativeControl weakens a userns container as
// TestNegativeControl does (every capability, no filter, no
// no_new_privs): what those open in the host's user namespace stays shut
// in the container's own.
func TestUserNSNegativeControl(t *testing.T) {
	b := attackBox(t)
	def := usernsDefinition(t, b, "")
	def = def[:len(def)-len("[security]\nuserns = \"auto\"\n")] + weakenedWith(t, b, "auto")
	run := mustStart(t, b, "attack-userns-weak", def)
	t.Logf("weakened container, userns = auto:\n%s", run.table())
	checkComplete(t, run)
	for _, name := range append(slices.Clone(userNSBlocked), userNSMayBeAbsent...) {
		rep := run.reports[name]
		if rep.Result == "blocked" || (rep.Result == "absent" && slices.Contains(userNSMayBeAbsent, name)) {
			continue
		}
		t.Errorf("%s is %s with userns = auto, every capability and no filter: %s", name, rep.Result, rep.Detail)
	}
}
