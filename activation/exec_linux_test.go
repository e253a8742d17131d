package activation

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// runningContainer starts a container that sleeps, for execs to join.
func runningContainer(t *testing.T) (*Config, *Container) {
	t.Helper()
	cfg := testConfig(t, "/bin/sleep", "600")
	c, err := Start(cfg, StartOptions{})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(c.Pid, syscall.SIGKILL)
		_, _ = c.Wait()
	})
	return cfg, c
}

func execOut(t *testing.T, opts ExecOptions) (string, int) {
	t.Helper()
	var out bytes.Buffer
	opts.Stdout, opts.Stderr = &out, &out
	status, err := Exec(opts)
	if err != nil {
		t.Fatalf("exec %v: %v (status %d)\n%s", opts.Args, err, status, out.String())
	}
	return out.String(), status
}

func TestExecJoinsContainer(t *testing.T) {
	cfg, c := runningContainer(t)
	script := `echo pid=$$; tr '\0' ' ' < /proc/1/cmdline; echo; hostname; ls /; ip link; exit 7`
	out, status := execOut(t, ExecOptions{Config: cfg, Pid: c.Pid, Args: []string{"sh", "-c", script}})
	if status != 7 {
		t.Errorf("exit status %d, want 7\n%s", status, out)
	}
	for _, want := range []string{"/bin/sleep 600", "testbox\n", "bin\n", "lo:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, host := range []string{"usr\n", "home\n", "eth0"} {
		if strings.Contains(out, host) {
			t.Errorf("the exec sees the host's %q:\n%s", host, out)
		}
	}
	if strings.Contains(out, "pid=1\n") {
		t.Errorf("the exec became the container's pid 1:\n%s", out)
	}
}

func TestExecAppliesContainerPolicy(t *testing.T) {
	cfg, c := runningContainer(t)
	cfg.Seccomp = nil
	fields := `grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):'`
	out, _ := execOut(t, ExecOptions{Config: cfg, Pid: c.Pid, Args: []string{"sh", "-c", fields + " /proc/1/status; echo ---; " + fields + " /proc/self/status"}})
	init, self, ok := strings.Cut(out, "---\n")
	if !ok || init == "" || init != self {
		t.Errorf("the exec's credentials differ from the container's init:\n%s", out)
	}
	if !strings.Contains(self, "NoNewPrivs:\t1") {
		t.Errorf("no_new_privs not set:\n%s", out)
	}
}

func TestExecUserEnvAndWorkdir(t *testing.T) {
	cfg, c := runningContainer(t)
	out, status := execOut(t, ExecOptions{
		Config: cfg, Pid: c.Pid, User: "web", Cwd: "/etc", Env: []string{"GREETING=hi"},
		Args: []string{"sh", "-c", "id -u; pwd; echo $GREETING; grep CapEff /proc/self/status"},
	})
	if status != 0 {
		t.Fatalf("status %d\n%s", status, out)
	}
	for _, want := range []string{"1000\n", "/etc\n", "hi\n", "CapEff:\t0000000000000000"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestExecStdinAndTerminal(t *testing.T) {
	cfg, c := runningContainer(t)
	out, _ := execOut(t, ExecOptions{Config: cfg, Pid: c.Pid, Stdin: strings.NewReader("from stdin\n"), Args: []string{"cat"}})
	if out != "from stdin\n" {
		t.Errorf("cat echoed %q", out)
	}
	out, status := execOut(t, ExecOptions{Config: cfg, Pid: c.Pid, TTY: true, Args: []string{"sh", "-c", "tty; ls -l /proc/self/fd/0"}})
	if status != 0 || !strings.Contains(out, "/dev/pts/0") {
		t.Errorf("no terminal of the container's own (status %d):\n%q", status, out)
	}
}

func TestExecReportsMissingCommand(t *testing.T) {
	cfg, c := runningContainer(t)
	var out bytes.Buffer
	status, err := Exec(ExecOptions{Config: cfg, Pid: c.Pid, Args: []string{"no-such-command"}, Stdout: &out, Stderr: &out})
	if err == nil || status != ExitNotFound || !strings.Contains(err.Error(), "no-such-command") {
		t.Errorf("status %d, error %v; want %d and an error naming the command\n%s", status, err, ExitNotFound, out.String())
	}
	status, err = Exec(ExecOptions{Config: cfg, Pid: c.Pid, Args: []string{"/etc/passwd"}, Stdout: &out, Stderr: &out})
	if err == nil || status != ExitCannotRun {
		// 126 as docker exec and podman exec: found, but cannot be run.
		t.Errorf("exec of a non-executable file: status %d, error %v; want %d", status, err, ExitCannotRun)
	}
}

func TestExecLeaksNoFds(t *testing.T) {
	cfg, c := runningContainer(t)
	// Whatever the shell itself has beyond stdio (the sync socket, the
	// sealed binary, the namespaces' fds) would be named here.
	out, _ := execOut(t, ExecOptions{Config: cfg, Pid: c.Pid, Args: []string{"sh", "-c", "for n in 3 4 5 6 7 8 9; do readlink /proc/$$/fd/$n; done; echo end"}})
	if out != "end\n" {
		t.Errorf("the command inherited fds:\n%s", out)
	}
}

func TestExecStageRunsFromSealedCopy(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := sealedCopy(self)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if _, err := mem.Write([]byte("x")); err == nil {
		t.Error("the sealed copy takes writes")
	}
	w, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(mem.Fd())), os.O_WRONLY, 0)
	if err == nil {
		_, err = w.Write([]byte("x"))
		w.Close()
	}
	if err == nil {
		t.Error("the sealed copy, reopened, takes writes")
	}
	seals, err := unix.FcntlInt(mem.Fd(), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SEAL == 0 {
		t.Errorf("seals %#x, %v", seals, err)
	}
}
