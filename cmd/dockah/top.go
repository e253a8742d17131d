package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/cmd/internal/usage"
)

func newTopCommand(_ *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top NAME [DESCRIPTOR...|PS-OPTION...]",
		Short: "Show the processes of a running container",
		Long: `Show the processes of the running container NAME: those in the cgroup of
NAME.service (its ControlGroup, read in the v2 hierarchy or, on a legacy
host, in systemd's v1 one) that are inside the container's pid namespace.
dockah's own helpers that may share the cgroup are left out: the
forwarder of a container whose image binds its own port, and the helper
of a dockah exec in progress (the commands exec runs are shown). With
init = true, dockah's init is the container's pid 1 and is shown.

Without more arguments the columns are podman top's: USER PID PPID %CPU
ELAPSED TTY TIME COMMAND, read from /proc. PIDs are the host's (those of
systemctl status, kill and dockah ps); the descriptor cpid is the pid
inside the container. USER and GROUP are the IDs the container knows
(its user namespace's, the default), named from its /etc/passwd and
/etc/group; huser and hgroup are the host's IDs (a range's, with a user
namespace of its own), named from the host's files.

Other columns are chosen with podman's format descriptors, as arguments
or comma-separated: ` + topDescriptorNames() + `,
and ps's AIX codes (%C %G %P %U %a %c %g %n %p %r %t %u %x %y %z).

Anything else is passed to the host's ps(1) as options, as docker top
does, and the lines whose PID column is one of the container's processes
are kept; the options must print a PID column, before any column with
spaces in it.`,
		Example: `  dockah top web
  dockah top web pid cpid user args
  dockah top web pid,seccomp,capeff
  dockah top web -eo pid,rss,wchan:20,cmd`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeFirstContainer,
		RunE: func(c *cobra.Command, args []string) error {
			return runTop(c, args[0], args[1:])
		},
	}
	// Everything after NAME is for ps, "-ef" included.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func runTop(c *cobra.Command, name string, args []string) error {
	ctx := c.Context()
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	initPID, procs, err := containerProcesses(ctx, conn, name)
	if err != nil {
		return err
	}
	columns, ok := topDescriptors(args)
	if !ok {
		pids := make([]int, len(procs))
		for i, p := range procs {
			pids[i] = p.PID
		}
		return hostPs(ctx, c.OutOrStdout(), args, pids)
	}
	uptime, err := usage.Uptime()
	if err != nil {
		return err
	}
	return printTop(c.OutOrStdout(), namedProcesses(initPID, procs), columns, uptime)
}

// containerProcesses returns the container's init (the main pid of its
// service) and the processes of the service's cgroup that are in the
// init's pid namespace.
func containerProcesses(ctx context.Context, conn *sdbus.Conn, name string) (int, []*usage.Process, error) {
	service := containerUnit(os.DirFS("/"), name)
	pid, err := mainPID(ctx, conn, name, service)
	if err != nil {
		return 0, nil, err
	}
	props, err := unitTypeProperties(ctx, conn, service)
	if err != nil {
		return 0, nil, fmt.Errorf("ask systemd about %s: %w", service, err)
	}
	cg, _ := props["ControlGroup"].(string)
	if cg == "" {
		return 0, nil, fmt.Errorf("container %s is not running: %s has no cgroup", name, service)
	}
	paths, err := activation.CgroupPathsOf(cg)
	if err != nil {
		return 0, nil, err
	}
	pids, err := usage.Procs(paths)
	if err != nil {
		return 0, nil, fmt.Errorf("list the processes of %s: %w", service, err)
	}
	initPID := int(pid)
	ns, err := usage.PidNamespace(initPID)
	if err != nil {
		return 0, nil, fmt.Errorf("container %s: %w", name, err)
	}
	var procs []*usage.Process
	for _, p := range pids {
		// The forwarder and exec's helper stay in the host's pid
		// namespace; a process gone meanwhile is no longer one.
		if theirs, err := usage.PidNamespace(p); err != nil || theirs != ns {
			continue
		}
		proc, err := usage.ReadProcess(p)
		if err != nil {
			continue
		}
		procs = append(procs, proc)
	}
	return initPID, procs, nil
}

// namedProcesses adds the names of the processes' ids: in the container
// of init (its /etc/passwd and /etc/group, read inside its root) and on
// the host.
func namedProcesses(initPID int, procs []*usage.Process) []*topProcess {
	root, err := os.OpenRoot("/proc/" + strconv.Itoa(initPID) + "/root")
	var cUsers, cGroups map[uint32]string
	if err == nil {
		// os.Root keeps the image's symlinks (etc/passwd -> /etc/shadow)
		// inside the container's root.
		cUsers, cGroups = idNames(root.Open)
		root.Close()
	}
	hUsers, hGroups := idNames(func(name string) (*os.File, error) { return os.Open("/" + name) })
	// The container's own names are of the IDs its user namespace knows
	// the processes by: the host's, mapped by the init's maps.
	uids, uerr := usage.ReadIDMap(initPID, "uid_map")
	gids, gerr := usage.ReadIDMap(initPID, "gid_map")
	inside := func(m usage.IDMap, err error, id int) int {
		if err != nil {
			return id
		}
		return m.Inside(id)
	}
	out := make([]*topProcess, len(procs))
	for i, p := range procs {
		out[i] = &topProcess{
			Process: *p,
			User:    idName(cUsers, inside(uids, uerr, p.UID)), RealUser: idName(cUsers, inside(uids, uerr, p.RealUID)),
			Group: idName(cGroups, inside(gids, gerr, p.GID)), RealGroup: idName(cGroups, inside(gids, gerr, p.RealGID)),
			HostUser: idName(hUsers, p.UID), HostGroup: idName(hGroups, p.GID),
			Label: processLabel(p.PID),
		}
	}
	return out
}

// idNames reads etc/passwd and etc/group through open; a file that cannot
// be read names nothing.
func idNames(open func(string) (*os.File, error)) (users, groups map[uint32]string) {
	read := func(name string, parse func(io.Reader) (map[uint32]string, error)) map[uint32]string {
		f, err := open(name)
		if err != nil {
			return nil
		}
		defer f.Close()
		names, _ := parse(f)
		return names
	}
	return read("etc/passwd", activation.UserNames), read("etc/group", activation.GroupNames)
}

// idName is the name of id, or the number when it has none.
func idName(names map[uint32]string, id int) string {
	if n, ok := names[uint32(id)]; ok {
		return n
	}
	return strconv.Itoa(id)
}

// processLabel is the process's security label, "-" when there is none.
func processLabel(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/attr/current")
	label := strings.TrimRight(string(data), "\x00\n")
	if err != nil || label == "" {
		return "-"
	}
	return label
}

// hostPs runs the host's ps with args and prints its header and the
// lines of the processes pids.
func hostPs(ctx context.Context, w io.Writer, args []string, pids []int) error {
	cmd := exec.CommandContext(ctx, "ps", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && stderr.Len() > 0 {
			return fmt.Errorf("ps %s: %s", strings.Join(args, " "), lastLine(strings.TrimSpace(stderr.String())))
		}
		return fmt.Errorf("ps %s: %w (descriptors dockah knows: %s)", strings.Join(args, " "), err, topDescriptorNames())
	}
	kept, err := psLinesOf(string(out), pids)
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(args, " "), err)
	}
	_, err = io.WriteString(w, kept)
	return err
}

// psLinesOf keeps the header of ps's output and the lines whose PID
// column is one of pids.
func psLinesOf(out string, pids []int) (string, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	column := slices.Index(strings.Fields(lines[0]), "PID")
	if column < 0 {
		return "", fmt.Errorf("no PID column in %q: dockah top keeps the container's lines by their PID (try -ef, or -o pid,...)", lines[0])
	}
	var b strings.Builder
	b.WriteString(lines[0] + "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= column {
			continue
		}
		if pid, err := strconv.Atoi(f[column]); err == nil && slices.Contains(pids, pid) {
			b.WriteString(line + "\n")
		}
	}
	return b.String(), nil
}
