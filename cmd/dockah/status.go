package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/unitgen"
)

// containerStatus is what systemd knows of a container: the state of its
// units and, while it runs, its main process and its cgroup's usage.
type containerStatus struct {
	Name     string         `json:"name"`
	Service  string         `json:"service"`
	Image    string         `json:"image"`
	State    string         `json:"state"`    // ActiveState of the service, or "template"
	SubState string         `json:"subState"` // SubState of the service
	MainPID  uint32         `json:"mainPID"`
	Sockets  []socketStatus `json:"sockets"`
	// The cgroup's usage, null where systemd does not account it.
	MemoryBytes *uint64 `json:"memoryBytes"`
	CPUNSec     *uint64 `json:"cpuNSec"`
	Tasks       *uint64 `json:"tasks"`
	// StartedAt is when the main process started; null when not running.
	StartedAt     *time.Time `json:"startedAt"`
	UptimeSeconds *int64     `json:"uptimeSeconds"`
	// Exit is how the container last ended; null while it runs or when
	// it has not run since systemd loaded its unit.
	Exit *exitStatus `json:"exit"`
	// Run is true for a container of dockah run, false for a defined one.
	Run bool `json:"run"`
	// Labels are the definition's labels.
	Labels map[string]string `json:"labels"`
}

// exitStatus is how a container's main process last ended, as systemd
// reports it (ExecMainCode, ExecMainStatus, Result).
type exitStatus struct {
	// How is "exited" (Status is the exit status) or "killed" or
	// "dumped" (Status is the signal number).
	How    string `json:"how"`
	Status int32  `json:"status"`
	// Result is the service's result: "success", "exit-code", "signal",
	// "timeout", "oom-kill"...
	Result string     `json:"result"`
	At     *time.Time `json:"at"`
}

// String is the exit as the ps table shows it: "exited 0", "killed SIGKILL".
func (e exitStatus) String() string {
	if e.How == "exited" {
		return fmt.Sprintf("exited %d", e.Status)
	}
	return e.How + " " + unix.SignalName(syscall.Signal(e.Status))
}

// socketStatus is one socket unit of a container.
type socketStatus struct {
	Unit   string   `json:"unit"`
	Listen []string `json:"listen"`
	State  string   `json:"state"`
}

// running reports whether the container's service has processes.
func (s containerStatus) running() bool {
	switch s.State {
	case "active", "activating", "deactivating", "reloading":
		return true
	}
	return false
}

// openSystemd connects to systemd's D-Bus API through the system bus, on
// one connection (busSystemd), or, as root, to its own socket when there
// is no bus. dockah run cannot go to systemd's own socket first, as
// systemctl does: a client there has no bus name, and systemd refuses
// AddRef, which keeps a run's unit and its exit status until the client
// has read it, with EINVAL.
func openSystemd(ctx context.Context) (*sdbus.Conn, error) {
	conn, err := busSystemd(ctx)
	if err != nil && os.Geteuid() == 0 {
		if private, perr := privateSystemd(ctx); perr == nil {
			return private, nil
		}
	}
	return conn, err
}

// containerDefinitions returns every defined container: the definitions
// of the search path, with each template replaced by the instances
// systemd has loaded (a template without any stays, as itself). The
// problems of bad definitions come back joined, beside the good ones.
func containerDefinitions(ctx context.Context, conn *sdbus.Conn, fsys fs.FS) ([]*unitgen.Definition, error) {
	defs, problems := unitgen.LoadAll(fsys)
	seen := map[string]bool{}
	for _, d := range defs {
		seen[d.Name] = true
	}
	var out []*unitgen.Definition
	for _, d := range defs {
		if !d.IsTemplate() {
			out = append(out, d)
			continue
		}
		loaded, err := conn.ListUnitsByPatternsContext(ctx, nil, []string{d.Prefix() + "@*.service"})
		if err != nil {
			return nil, fmt.Errorf("list the instances of %s: %w", d.Name, err)
		}
		instances := 0
		for _, u := range loaded {
			name := strings.TrimSuffix(u.Name, ".service")
			if seen[name] || strings.HasSuffix(name, "@") {
				continue
			}
			inst, err := unitgen.LoadUnit(fsys, name)
			if err != nil {
				problems = errors.Join(problems, err)
				continue
			}
			seen[name] = true
			instances++
			out = append(out, inst)
		}
		if instances == 0 {
			out = append(out, d)
		}
	}
	runs, err := runContainers(fsys)
	problems = errors.Join(problems, err)
	for _, d := range runs {
		if !seen[d.Name] {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *unitgen.Definition) int { return strings.Compare(a.Name, b.Name) })
	return out, problems
}

// queryStatus asks systemd for the state of the containers' units, and for
// the main process and cgroup usage of those that run.
func queryStatus(ctx context.Context, conn *sdbus.Conn, defs []*unitgen.Definition, now time.Time) ([]containerStatus, error) {
	var names []string
	for _, d := range defs {
		if d.IsTemplate() {
			continue
		}
		names = append(names, d.ServiceUnit())
		for _, s := range d.SocketUnits() {
			names = append(names, s.Unit)
		}
	}
	units := map[string]sdbus.UnitStatus{}
	if len(names) > 0 {
		list, err := conn.ListUnitsByNamesContext(ctx, names)
		if err != nil {
			return nil, fmt.Errorf("ask systemd for the units' state: %w", err)
		}
		for _, u := range list {
			units[u.Name] = u
		}
	}
	out := make([]containerStatus, 0, len(defs))
	for _, d := range defs {
		st := newStatus(d, units)
		if st.running() || st.State == "inactive" || st.State == "failed" {
			props, err := unitTypeProperties(ctx, conn, st.Service)
			if err != nil {
				return nil, fmt.Errorf("ask systemd about %s: %w", st.Service, err)
			}
			st.addServiceProperties(props, now)
		}
		if st.Run && st.Exit == nil && !st.running() {
			// The unit has gone with how it ended; its ExecStopPost=
			// wrote it down.
			st.Exit = readRunExit(os.DirFS("/"), d.Name)
			if st.Exit == nil && d.Scope {
				st.Exit = unrecordedScopeEnd(d.Name)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// newStatus is a container's status from its definition and the state of
// its units.
func newStatus(d *unitgen.Definition, units map[string]sdbus.UnitStatus) containerStatus {
	st := containerStatus{
		Name: d.Name, Service: d.ServiceUnit(), Image: d.Container.Image, Sockets: []socketStatus{},
		Run: isRunContainer(d), Labels: d.Container.Labels,
	}
	if d.IsTemplate() {
		st.State = "template"
	} else {
		u := units[st.Service]
		st.State, st.SubState = orDash(u.ActiveState), u.SubState
	}
	for _, s := range d.SocketUnits() {
		ss := socketStatus{Unit: s.Unit, State: "-"}
		for _, l := range s.Sockets {
			ss.Listen = append(ss.Listen, l.Listen)
		}
		if u, ok := units[s.Unit]; ok {
			ss.State = orDash(u.ActiveState)
		}
		st.Sockets = append(st.Sockets, ss)
	}
	return st
}

// addServiceProperties fills in the main process and the cgroup's usage
// from the service's D-Bus properties. systemd reports an unaccounted
// quantity as the largest uint64.
func (st *containerStatus) addServiceProperties(props map[string]any, now time.Time) {
	st.MainPID, _ = props["MainPID"].(uint32)
	st.MemoryBytes = accounted(props["MemoryCurrent"])
	st.CPUNSec = accounted(props["CPUUsageNSec"])
	st.Tasks = accounted(props["TasksCurrent"])
	if usec, ok := props["ExecMainStartTimestamp"].(uint64); ok && usec != 0 && st.MainPID != 0 {
		started := time.UnixMicro(int64(usec)).UTC()
		up := int64(now.Sub(started) / time.Second)
		st.StartedAt, st.UptimeSeconds = &started, &up
	}
	if !st.running() {
		st.Exit = exitFrom(props)
	}
}

// exitFrom reads how the main process last ended; nil when it has not
// ended since the unit was loaded.
func exitFrom(props map[string]any) *exitStatus {
	usec, _ := props["ExecMainExitTimestamp"].(uint64)
	code, _ := props["ExecMainCode"].(int32)
	if usec == 0 || code == 0 {
		return nil
	}
	e := &exitStatus{How: map[int32]string{1: "exited", 2: "killed", 3: "dumped"}[code]}
	if e.How == "" {
		return nil
	}
	e.Status, _ = props["ExecMainStatus"].(int32)
	e.Result, _ = props["Result"].(string)
	at := time.UnixMicro(int64(usec)).UTC()
	e.At = &at
	return e
}

func accounted(v any) *uint64 {
	n, ok := v.(uint64)
	if !ok || n == ^uint64(0) {
		return nil
	}
	return &n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// addStopRecords fills in how the defined containers that do not run
// last ended, where systemd has forgotten (an inactive unit it unloaded),
// from the shim's stop records in the journal.
func addStopRecords(ctx context.Context, list []containerStatus) {
	missing := map[string]bool{}
	for _, st := range list {
		if st.Exit == nil && !st.running() && st.State != "template" && !st.Run {
			missing[st.Name] = true
		}
	}
	stops := lastStops(ctx, missing)
	for i := range list {
		if e := stops[list[i].Name]; e != nil && list[i].Exit == nil {
			list[i].Exit = e
		}
	}
}
