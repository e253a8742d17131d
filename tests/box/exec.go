package box

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds a command run in the box by Run.
const DefaultTimeout = 60 * time.Second

// boxEnv is the environment of commands run in the box: a clean one, so
// the test process's variables (GOFLAGS, LISTEN_FDS, pagers) never leak in.
var boxEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C.UTF-8",
	"SYSTEMD_PAGER=",
	"SYSTEMD_COLORS=0",
	"SYSTEMD_LOG_COLOR=0",
	"TERM=dumb",
}

// Run runs a command inside the box (all its namespaces and its root) and
// returns its combined output. A non-zero exit is an error that includes
// the output.
func (b *Box) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	return b.RunContext(ctx, args...)
}

// RunContext is Run with a caller-chosen deadline.
func (b *Box) RunContext(ctx context.Context, args ...string) (string, error) {
	cmd := b.Command(ctx, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("in box: %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Command returns an unstarted command that runs inside the box, for
// callers that need its stdin or separate output streams.
func (b *Box) Command(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"-t", strconv.Itoa(b.pid1), "-a", "--"}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	cmd.Env = boxEnv
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Systemctl runs systemctl in the box.
func (b *Box) Systemctl(args ...string) (string, error) {
	return b.Run(append([]string{"systemctl", "--no-pager"}, args...)...)
}

// Journal returns the messages (journalctl -o cat) of a unit in the box.
func (b *Box) Journal(unit string) (string, error) {
	return b.Run("journalctl", "--no-pager", "-o", "cat", "-u", unit)
}

// Property returns one property of a unit (systemctl show -P).
func (b *Box) Property(unit, name string) (string, error) {
	out, err := b.Systemctl("show", "-P", name, unit)
	return strings.TrimSpace(out), err
}

// WaitUnitState polls until the unit's ActiveState is one of states, and
// fails after timeout with the state it last saw.
func (b *Box) WaitUnitState(unit string, timeout time.Duration, states ...string) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		state, err := b.Property(unit, "ActiveState")
		if err == nil {
			last = state
			for _, s := range states {
				if state == s {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("unit %s: ActiveState %q after %s, want one of %v", unit, last, timeout, states)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitJournal polls the journal of a unit until a message contains want,
// and returns the whole journal of the unit.
func (b *Box) WaitJournal(unit, want string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		out, err := b.Journal(unit)
		if err == nil && strings.Contains(out, want) {
			return out, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("not found")
			}
			return out, fmt.Errorf("journal of %s has no %q after %s: %w\n%s", unit, want, timeout, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// MountTmpfs mounts a new tmpfs on dir inside the box (created if
// missing), mode 0755, root's. A bind volume of the box's overlayfs root
// cannot be idmapped for a container with a user namespace of its own
// (the default); a tmpfs can (Linux 6.3 and later). Files in it are
// written with Run, not through Path, which shows the overlay below it.
func (b *Box) MountTmpfs(dir string) error {
	_, err := b.Run("sh", "-c", `mkdir -p "$1" && mount -t tmpfs -o mode=0755,size=16m tmpfs "$1"`, "sh", dir)
	return err
}
