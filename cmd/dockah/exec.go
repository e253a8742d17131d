package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/cmd/internal/unitwatch"
	"github.com/dockah/dockah/unitgen"
)

type execOptions struct {
	interactive, tty bool
	user, workdir    string
	env              []string
}

func newExecCommand(opts *globalOptions) *cobra.Command {
	eo := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec [-it] [-u USER] [-w DIR] [-e KEY=VALUE] NAME CMD [ARG...]",
		Short: "Run a command inside a running container",
		Long: `Run CMD inside the running container NAME: in its namespaces (mount, pid,
uts, ipc, network, cgroup), its root, its service's cgroup, as its user,
and under the same security policy as the container (capabilities,
seccomp, no_new_privs, SELinux label), so that it can do exactly what the
container can. CMD is looked up in the container's PATH.

With -i the command reads dockah's input. With -t it runs on a new
terminal allocated inside the container; dockah relays it to your
terminal (in raw mode, so Ctrl-C and the like go to the command). Without
-t, a terminal on dockah's side is never handed to the container: it is
relayed through a pipe.

The exit status is the command's, or 125 when dockah could not run it,
126 when it cannot be executed, 127 when it is not found.`,
		Example: `  dockah exec web cat /etc/hostname
  dockah exec -it web sh
  dockah exec -u 0 -w /var/log web ls -l
  echo hello | dockah exec -i -e LANG=C.UTF-8 web tee /tmp/greeting`,
		Args:              cobra.MinimumNArgs(2),
		ValidArgsFunction: completeFirstContainer,
		RunE: func(c *cobra.Command, args []string) error {
			status, err := runExec(c.Context(), opts, eo, args[0], args[1:])
			if err != nil {
				// Said here: main stays silent on an exit status.
				fmt.Fprintf(c.ErrOrStderr(), "dockah: %v\n", err)
			}
			if status != 0 {
				return exitStatusError{status}
			}
			return nil
		},
	}
	// Everything after NAME belongs to the command.
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.BoolVarP(&eo.interactive, "interactive", "i", false, "pass dockah's input to the command")
	f.BoolVarP(&eo.tty, "tty", "t", false, "run the command on a terminal inside the container")
	f.StringVarP(&eo.user, "user", "u", "", "run as `USER` (name, uid, name:group or uid:gid in the image) instead of the container's user")
	f.StringVarP(&eo.workdir, "workdir", "w", "", "working `DIR` instead of the container's")
	f.StringArrayVarP(&eo.env, "env", "e", nil, "set `KEY=VALUE` (or KEY, from dockah's environment) for the command (repeatable)")
	return cmd
}

func runExec(ctx context.Context, opts *globalOptions, eo *execOptions, name string, command []string) (int, error) {
	env, err := execEnv(eo.env, os.LookupEnv)
	if err != nil {
		return activation.ExitSetupFailed, err
	}
	conn, err := openSystemd(ctx)
	if err != nil {
		return activation.ExitSetupFailed, err
	}
	defer conn.Close()
	lo := launch.Options{Mode: launch.ModeExec, Definitions: os.DirFS("/"), StoreRoot: opts.storeRoot}
	if _, err := os.Stat(runDefinitionPath(name)); err == nil {
		if _, err := unitgen.LoadUnit(lo.Definitions, name); errors.Is(err, unitgen.ErrNotFound) {
			lo.DefinitionFile = runDefinitionPath(name)
		}
	}
	prep, err := launch.Prepare(name, lo)
	if err != nil {
		return activation.ExitSetupFailed, err
	}
	unit := prep.Definition.ServiceUnit()
	if lo.DefinitionFile != "" {
		unit = containerUnit(lo.Definitions, name)
	}
	pid, err := mainPID(ctx, conn, name, unit)
	if err != nil {
		return activation.ExitSetupFailed, err
	}
	xo := activation.ExecOptions{
		Config: prep.Config, Pid: int(pid), Args: command, Env: env, User: eo.user, Cwd: eo.workdir, TTY: eo.tty,
		Shim: shimPath,
	}
	if eo.interactive {
		xo.Stdin = os.Stdin
	}
	return activation.Exec(xo)
}

// mainPID returns the main pid of a running container's service. While
// the service starts, its main pid is the shim for a moment, and only
// then the container's init: wait for that.
func mainPID(ctx context.Context, conn *sdbus.Conn, name, service string) (uint32, error) {
	if strings.HasSuffix(service, ".scope") {
		// An attached run's: machined has its init once it runs.
		pid, err := scopeLeader(name)
		if err != nil {
			return 0, fmt.Errorf("container %s is not running (%s): %w", name, service, err)
		}
		return pid, nil
	}
	starting, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var pid uint32
	err := unitwatch.New(conn, service).Until(starting, func() (bool, error) {
		props, err := conn.GetUnitTypePropertiesContext(ctx, service, "Service")
		if err != nil {
			return false, fmt.Errorf("ask systemd about %s: %w", service, err)
		}
		pid, _ = props["MainPID"].(uint32)
		state, _ := conn.GetUnitPropertyContext(ctx, service, "ActiveState")
		active := ""
		if state != nil {
			active = strings.Trim(state.Value.String(), `"`)
		}
		if pid == 0 {
			return false, fmt.Errorf("container %s is not running (%s): start it with: dockah start %s", name, active, name)
		}
		return active != "activating" || inOtherMountNamespace(pid), nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return 0, fmt.Errorf("container %s is still starting", name)
	}
	return pid, err
}

// inOtherMountNamespace reports whether pid has a mount namespace other
// than dockah's, as a container's init has and the shim has not.
func inOtherMountNamespace(pid uint32) bool {
	theirs, err1 := os.Readlink("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/ns/mnt")
	ours, err2 := os.Readlink("/proc/self/ns/mnt")
	return err1 == nil && err2 == nil && theirs != ours
}

// execEnv checks -e values: KEY=VALUE, or KEY alone for dockah's own
// value of KEY.
func execEnv(values []string, lookup func(string) (string, bool)) ([]string, error) {
	out := make([]string, 0, len(values))
	for _, kv := range values {
		key, _, hasValue := strings.Cut(kv, "=")
		if key == "" || strings.ContainsAny(key, " \t\n") {
			return nil, fmt.Errorf("--env %q: want KEY=VALUE or KEY", kv)
		}
		if !hasValue {
			v, ok := lookup(key)
			if !ok {
				return nil, fmt.Errorf("--env %s: not set in dockah's environment", key)
			}
			kv = key + "=" + v
		}
		out = append(out, kv)
	}
	return out, nil
}
