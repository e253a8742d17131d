package ops

import (
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/box"
)

func TestExecSeesContainer(t *testing.T) {
	b := opsBox(t)
	startWeb(t, b)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"web", "cat", "/proc/1/cmdline"}, "/hello\x00"},
		{[]string{"web", "hostname"}, "web\n"},
		{[]string{"web", "id", "-u"}, "0\n"},
		{[]string{"-u", "app", "web", "id", "-u"}, "1000\n"},
		{[]string{"-w", "/etc", "web", "pwd"}, "/etc\n"},
		{[]string{"-e", "GREETING=hi", "web", "sh", "-c", "echo $GREETING"}, "hi\n"},
	} {
		args := append([]string{"exec"}, tc.args...)
		if got := dockah(t, b, args...); got != tc.want {
			t.Errorf("dockah %s = %q, want %q", strings.Join(args, " "), got, tc.want)
		}
	}
	root := dockah(t, b, "exec", "web", "ls", "/")
	for _, want := range []string{"hello", "bin", "etc", "proc"} {
		if !strings.Contains(root, want+"\n") {
			t.Errorf("ls / in the container lacks %s:\n%s", want, root)
		}
	}
	for _, host := range []string{"usr", "home", "var", "boot"} {
		if strings.Contains(root, host+"\n") {
			t.Errorf("ls / in the container shows the host's %s:\n%s", host, root)
		}
	}
	// Only the container's processes: its init, the exec, nothing of the box.
	if procs := strings.Fields(dockah(t, b, "exec", "web", "sh", "-c", "ls /proc | grep '^[0-9]'")); len(procs) > 4 || procs[0] != "1" {
		t.Errorf("the exec sees processes %v", procs)
	}
}

func TestExecHasContainerPolicyAndCgroup(t *testing.T) {
	b := opsBox(t)
	startWeb(t, b)
	fields := `grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):'`
	out := dockah(t, b, "exec", "web", "sh", "-c", fields+" /proc/1/status; echo ---; "+fields+" /proc/self/status")
	init, self, _ := strings.Cut(out, "---\n")
	if init == "" || init != self || !strings.Contains(self, "Seccomp:\t2") || !strings.Contains(self, "NoNewPrivs:\t1") {
		t.Errorf("the exec's policy differs from the container's init:\n%s", out)
	}
	// In the container's cgroup namespace, the service's cgroup is "/",
	// in the hierarchy systemd tracks it by: cgroup2 on the unified
	// layout, name=systemd on the legacy one the hybrid box has (the
	// other hierarchies are not mounted, or read-only, in the box).
	tracking := "0::"
	if b.Layout() == box.Hybrid {
		tracking = ":name=systemd:"
	}
	cgroups := dockah(t, b, "exec", "web", "cat", "/proc/self/cgroup")
	if !strings.Contains(cgroups, tracking+"/\n") {
		t.Errorf("the exec is outside the service's cgroup (want %s/):\n%s", tracking, cgroups)
	}
	// Seen from the box: the exec's processes are the service's.
	cg, err := b.Property("web.service", "ControlGroup")
	if err != nil {
		t.Fatal(err)
	}
	procs := "cat /sys/fs/cgroup" + cg + "/cgroup.procs 2>/dev/null || cat /sys/fs/cgroup/systemd" + cg + "/cgroup.procs"
	r := run(t, b, "sh", "-c", "dockah exec web sleep 2 & sleep 1; "+procs+"; wait")
	if pids := strings.Fields(r.stdout); len(pids) < 3 {
		t.Errorf("the service's cgroup holds %v while an exec runs, want the init, the exec's helper and its command\n%s", pids, r.stderr)
	}
}

func TestExecStatusAndErrors(t *testing.T) {
	b := opsBox(t)
	startWeb(t, b)
	if r := run(t, b, "dockah", "exec", "web", "sh", "-c", "echo out; echo err >&2; exit 7"); r.status != 7 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("exit 7: status %d, stdout %q, stderr %q (want only the command's)", r.status, r.stdout, r.stderr)
	}
	if r := run(t, b, "dockah", "exec", "web", "sh", "-c", "kill -TERM $$"); r.status != 128+15 {
		t.Errorf("killed by SIGTERM: status %d, want 143", r.status)
	}
	r := run(t, b, "dockah", "exec", "web", "no-such-command")
	if r.status != 127 {
		t.Errorf("missing command: status %d, want 127", r.status)
	}
	oneLineError(t, r, "no-such-command")
	stop(t, b, "sleeper")
	r = run(t, b, "dockah", "exec", "sleeper", "true")
	if r.status != 125 {
		t.Errorf("exec into a stopped container: status %d, want 125", r.status)
	}
	oneLineError(t, r, "container sleeper is not running")
	oneLineError(t, run(t, b, "dockah", "exec", "nosuch", "true"), "nosuch")
}

func TestExecTerminalAndInput(t *testing.T) {
	b := opsBox(t)
	startWeb(t, b)
	if out := run(t, b, "sh", "-c", "echo from-stdin | dockah exec -i web cat").stdout; out != "from-stdin\n" {
		t.Errorf("exec -i cat echoed %q", out)
	}
	if out := run(t, b, "sh", "-c", "echo ignored | dockah exec web cat").stdout; out != "" {
		t.Errorf("exec without -i read input: %q", out)
	}
	// script gives dockah a terminal; the command gets one of the
	// container's own.
	r := run(t, b, "script", "-qec", "dockah exec -it web sh -c 'tty; echo cols=$(stty size 2>/dev/null)'", "/dev/null")
	if r.status != 0 || !strings.Contains(r.stdout, "/dev/pts/0") {
		t.Errorf("exec -it: status %d\n%s%s", r.status, r.stdout, r.stderr)
	}
	if r := run(t, b, "script", "-qec", "dockah exec -it web sh -c 'exit 3'", "/dev/null"); r.status != 3 {
		t.Errorf("exec -it exit 3: status %d\n%s", r.status, r.stdout)
	}
}
