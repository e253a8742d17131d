package box

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Result is what a command run in the box did.
type Result struct {
	Stdout, Stderr string
	Status         int
}

// Exec runs a command in the box with stdin as its input (none when
// empty), within DefaultTimeout, and returns its output and exit status.
// It fails the test only when the command cannot be run at all.
func (b *Box) Exec(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	cmd := b.Command(ctx, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v in the box: %v", args, err)
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Status: cmd.ProcessState.ExitCode()}
}

// Dockah runs the CLI in the box, fails the test unless it succeeds, and
// returns its standard output.
func (b *Box) Dockah(t testing.TB, args ...string) string {
	t.Helper()
	r := b.Exec(t, "", append([]string{"dockah"}, args...)...)
	if r.Status != 0 {
		t.Fatalf("dockah %s: exit status %d\n%s%s", strings.Join(args, " "), r.Status, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// Eventually polls cond every 100ms until it holds or timeout passes, and
// reports whether it held.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
