package confine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
)

// The tests re-execute the test binary for what must happen in a process
// of its own (a filter cannot be unloaded, the constructor runs before
// main): childEnv names the child's part, which prints one JSON line of
// results and then waits for its stdin to close, so that the parent can
// look at it from outside meanwhile.
const childEnv = "_CONFINE_TEST_CHILD"

func TestMain(m *testing.M) {
	if IsForwarder() {
		forwarderChild()
	}
	switch os.Getenv(childEnv) {
	case "filter":
		filterChild()
	case "shim":
		shimChild()
	}
	os.Exit(m.Run())
}

// child is a running re-executed test binary.
type child struct {
	cmd   *exec.Cmd
	stdin interface{ Close() error }
	out   *bufio.Reader
}

// startChild starts the test binary as the child part, with env added.
func startChild(t *testing.T, part string, env ...string) *child {
	t.Helper()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(append(os.Environ(), childEnv+"="+part), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() { c.end() })
	return c
}

// results reads the child's line of results into v.
func (c *child) results(t *testing.T, v any) {
	t.Helper()
	line, err := c.out.ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v (%s)", err, line)
	}
	if err := json.Unmarshal([]byte(line), v); err != nil {
		t.Fatalf("child: %v: %q", err, line)
	}
}

func (c *child) end() error {
	c.stdin.Close()
	return c.cmd.Wait()
}

// report prints the child's results and waits for stdin to close.
func report(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		fmt.Printf("{\"error\": %q}\n", err.Error())
	} else {
		fmt.Printf("%s\n", data)
	}
	buf := make([]byte, 1)
	for {
		if n, err := os.Stdin.Read(buf); n == 0 || err != nil {
			os.Exit(0)
		}
	}
}

// procStatus returns the fields of /proc/PID/status (or of a task's).
func procStatus(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return statusFields(data)
}

// statusFields are the fields of a /proc/PID/status file.
func statusFields(data []byte) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// requireRoot skips a test that needs root, saying so (a failure under
// DOCKAH_TEST_STRICT=1).
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "needs root: mount namespaces and mounts")
	}
}
