package main

import (
	"fmt"
	"strconv"
	"strings"
)

const podmanImage = "localhost/hello:bench"

// podmanSetup is how podman runs on this machine: its default, or the
// first of a few fallbacks that works, and why.
type podmanSetup struct {
	flags  []string // added to every podman run and create
	note   string
	broken bool // no way found: podman is left out
}

// podmanFallbacks are tried in order until /bin/true runs.
var podmanFallbacks = [][]string{
	nil,
	// The box's cgroup v2 tree has no controllers (the host binds them
	// all to v1), so podman's default pids limit cannot be set.
	{"--pids-limit=0"},
	// crun raises RLIMIT_MEMLOCK before it loads its eBPF device filter,
	// which needs CAP_SYS_RESOURCE; runc does not.
	{"--runtime", "runc", "--pids-limit=0"},
	// Where the box cannot make cgroups at all (cgroup v1 read-only).
	{"--runtime", "runc", "--cgroups=disabled"},
}

// setupPodman finds the podman flags that work here, with a run of
// /bin/true per candidate. If none works, podman is left out of the run
// and the report says why.
func (s *suite) setupPodman() error {
	var failures []string
	for _, flags := range podmanFallbacks {
		args := append([]string{"podman", "run", "--rm", "--network=none"}, flags...)
		args = append(args, "--entrypoint", "/bin/true", podmanImage)
		out, err := s.box.Run(args...)
		if err == nil {
			s.podman.flags = flags
			if len(failures) > 0 {
				s.podman.note = fmt.Sprintf("podman needs `%s` in this box: %s", strings.Join(flags, " "), strings.Join(failures, "; "))
				if strings.Contains(s.podman.note, "RLIM_MEMLOCK") {
					s.podman.note += ". crun (1.8) raises RLIMIT_MEMLOCK before it loads its eBPF device filter, and that needs CAP_SYS_RESOURCE, " + sysResource()
				}
			}
			return nil
		}
		failures = append(failures, fmt.Sprintf("with `%s`: %s", strings.Join(append([]string{"podman run"}, flags...), " "), firstErrorLine(out)))
	}
	s.podman.broken = true
	s.podman.note = "podman could not run a container in this box and is left out: " + strings.Join(failures, "; ")
	logf("%s", s.podman.note)
	return nil
}

// sysResource says whether this machine lets any process have
// CAP_SYS_RESOURCE (bit 24 of the capability bounding set).
func sysResource() string {
	capBnd, err := strconv.ParseUint(procField("/proc/self/status", "CapBnd"), 16, 64)
	if err != nil || capBnd&(1<<24) != 0 {
		return "which crun lacked here"
	}
	return fmt.Sprintf("which this machine withholds from every process, root included (bounding set %#x lacks bit 24)", capBnd)
}

// firstErrorLine returns podman's "Error: ..." line, or the last line.
func firstErrorLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "Error: ") {
			return strings.TrimPrefix(l, "Error: ")
		}
	}
	return lines[len(lines)-1]
}

// runFlags are the flags of every podman container of the suite.
func (p podmanSetup) runFlags() string {
	return strings.Join(append([]string{"--network=none"}, p.flags...), " ")
}

// unit is the [Service] section `podman generate systemd --new` (podman
// 4.3) writes for the container, without Restart=on-failure: podman runs
// the container detached, conmon stays as the main process and reports
// readiness, and podman passes the activated socket on (--preserve-fds).
func (p podmanSetup) unit() string {
	return `Environment=PODMAN_SYSTEMD_UNIT=%n
TimeoutStopSec=70
ExecStartPre=/bin/rm -f %t/%n.ctr-id
ExecStart=/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon -d --replace --name bench-podman ` + p.runFlags() + " " + podmanImage + `
ExecStop=/usr/bin/podman stop --ignore -t 10 --cidfile=%t/%n.ctr-id
ExecStopPost=/usr/bin/podman rm -f --ignore -t 10 --cidfile=%t/%n.ctr-id
Type=notify
NotifyAccess=all
`
}

// exitCommand runs /bin/true in a new container and removes it.
func (p podmanSetup) exitCommand() string {
	return "/usr/bin/podman run --rm " + p.runFlags() + " --entrypoint /bin/true " + podmanImage
}
