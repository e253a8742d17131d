package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/network"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

// A container of "dockah run" is a transient unit; what outlives the unit
// is kept in runDir: its definition (NAME.toml), which the shim reads and
// every verb finds it by, and once it has ended how it ended
// (NAME.exit.json), which "ps -a" shows. Both stay until "dockah rm NAME"
// (or, with --rm, until the unit ends); a name stays taken as long as
// they do, as docker keeps a stopped container's name.

func runDefinitionPath(name string) string { return path.Join(runDir, name+".toml") }
func runExitPath(name string) string       { return path.Join(runDir, name+".exit.json") }

// inFS turns an absolute path into a path of an fs.FS rooted at "/".
func inFS(p string) string { return strings.TrimPrefix(p, "/") }

// loadRunContainer loads the definition of the run container name below
// fsys; fs.ErrNotExist when there is none.
func loadRunContainer(fsys fs.FS, name string) (*unitgen.Definition, error) {
	if strings.ContainsAny(name, "/\x00") || name == "" || name[0] == '.' {
		return nil, fs.ErrNotExist
	}
	p := runDefinitionPath(name)
	data, err := fs.ReadFile(fsys, inFS(p))
	if err != nil {
		return nil, err
	}
	def, err := unitgen.Parse(name, unitgen.File{Path: p, Data: data})
	if err == nil {
		_, serr := fs.Stat(fsys, inFS(runScopePath(name)))
		def.Scope = serr == nil
	}
	return def, err
}

// loadDefinedOrRun loads a container by name: a defined one, or else one
// of dockah run. The error of a definition that does not load is the
// definition's.
func loadDefinedOrRun(fsys fs.FS, name string) (*unitgen.Definition, error) {
	def, err := unitgen.LoadUnit(fsys, name)
	if !errors.Is(err, unitgen.ErrNotFound) {
		return def, err
	}
	run, rerr := loadRunContainer(fsys, name)
	if rerr == nil {
		return run, nil
	}
	if !errors.Is(rerr, fs.ErrNotExist) {
		return nil, rerr
	}
	var dirs []string
	for _, d := range unitgen.SearchPath() {
		dirs = append(dirs, "/"+d)
	}
	return nil, fmt.Errorf("no container %s: no %s.toml in %s, and no container of dockah run: %w", name, name, strings.Join(dirs, ", "), unitgen.ErrNotFound)
}

// isRunContainer reports whether def was started by dockah run.
func isRunContainer(def *unitgen.Definition) bool {
	return path.Dir(def.SourcePath) == runDir
}

// runContainers loads every run container below fsys, sorted by name.
func runContainers(fsys fs.FS) ([]*unitgen.Definition, error) {
	entries, err := fs.ReadDir(fsys, inFS(runDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var defs []*unitgen.Definition
	var problems []error
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".toml")
		if !ok || e.IsDir() {
			continue
		}
		def, err := loadRunContainer(fsys, name)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		defs = append(defs, def)
	}
	slices.SortFunc(defs, func(a, b *unitgen.Definition) int { return strings.Compare(a.Name, b.Name) })
	return defs, errors.Join(problems...)
}

// readRunExit reads how a run container last ended; nil when it has not.
func readRunExit(fsys fs.FS, name string) *exitStatus {
	data, err := fs.ReadFile(fsys, inFS(runExitPath(name)))
	if err != nil {
		return nil
	}
	var e exitStatus
	if json.Unmarshal(data, &e) != nil {
		return nil
	}
	return &e
}

// removeRunContainer removes what dockah run keeps of a container once
// its unit is gone: the definition, how it ended, its writable layer and
// the addresses its networks kept for it. With discard, an empty writable
// layer is left for the next start to remove (rootfs.DiscardContainer).
func removeRunContainer(store *rootfs.Store, name string, discard bool) error {
	var errs []error
	if store != nil {
		// The shim's --stopped left its networks; the addresses kept
		// for the name go with the container.
		errs = append(errs, removeContainerState(store, name, discard), network.Forget(store.Root(), name))
	}
	for _, p := range []string{runExitPath(name), runDefinitionPath(name), runScopePath(name)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// newRunEndedCommand is the ExecStopPost= of a run container's unit:
// "dockah run-ended [--rm] NAME" records how the container ended, from
// what systemd passes ($SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS), or
// with --rm removes the container. It runs in the unit's sandbox, with
// runDir and the store writable.
func newRunEndedCommand(g *globalOptions) *cobra.Command {
	var remove, noSockets bool
	cmd := &cobra.Command{
		Use:     "run-ended [--rm] [--no-sockets] NAME",
		Short:   "Record how a container of dockah run ended (its unit's ExecStopPost=)",
		Hidden:  true,
		Example: "  dockah run-ended run-1a2b3c4d",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			err := recordRunEnd(g, name, remove)
			activation.Trace("run-ended: recorded")
			if noSockets {
				return err
			}
			return errors.Join(err, closeRunSockets(c.Context(), name))
		},
	}
	cmd.Flags().BoolVar(&remove, "rm", false, "remove the container instead")
	cmd.Flags().BoolVar(&noSockets, "no-sockets", false, "the container has no socket units to close")
	return cmd
}

func recordRunEnd(g *globalOptions, name string, remove bool) error {
	// The end of an attached run whose client had gone: its scope is over.
	if err := os.Remove(runScopePath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return endRun(g.storeRoot, name, remove, exitFromEnvironment(os.Getenv, time.Now()))
}

// endRun keeps how a run container ended, for ps -a, or with remove
// removes it.
func endRun(storeRoot, name string, remove bool, exit exitStatus) error {
	if remove {
		store, err := rootfs.Open(storeRoot)
		if err != nil {
			return err
		}
		// The container has just ended: its writable layer, if empty,
		// is left for the next start to remove (rootfs.DiscardContainer).
		return removeRunContainer(store, name, true)
	}
	return writeRunExit(name, exit)
}

// writeRunExit keeps how a run container ended, for ps -a.
func writeRunExit(name string, e exitStatus) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return writeFileAtomic(runExitPath(name), func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// closeRunSockets stops the socket unit of a run container that has
// ended, as docker closes a stopped container's ports, unless the
// container is restarting. (A defined container's sockets stay: they
// start it again.)
func closeRunSockets(ctx context.Context, name string) error {
	conn, err := openSystemd(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	jobs, err := conn.ListJobsContext(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Unit == name+".service" && (j.JobType == "restart" || j.JobType == "start") {
			return nil
		}
	}
	units, err := conn.ListUnitsByNamesContext(ctx, []string{name + ".socket"})
	if err != nil {
		return err
	}
	for _, u := range units {
		if u.LoadState == "loaded" && u.ActiveState != "inactive" {
			_, err = conn.StopUnitContext(ctx, u.Name, "replace", nil)
		}
	}
	return err
}

// exitFromEnvironment reads systemd's description of a service's end, as
// it passes it to ExecStopPost=.
func exitFromEnvironment(getenv func(string) string, now time.Time) exitStatus {
	e := exitStatus{How: getenv("EXIT_CODE"), Result: getenv("SERVICE_RESULT"), At: &now}
	status := getenv("EXIT_STATUS")
	if n, err := strconv.Atoi(status); err == nil {
		e.Status = int32(n)
	} else if sig := unix.SignalNum("SIG" + status); sig != 0 {
		e.Status = int32(sig)
	}
	if e.How == "" {
		e.How = "exited"
	}
	return e
}

// runContainerNamed returns the run container name, or nil when there is
// none or a definition takes the name.
func runContainerNamed(fsys fs.FS, name string) *unitgen.Definition {
	if _, err := unitgen.LoadUnit(fsys, name); !errors.Is(err, unitgen.ErrNotFound) {
		return nil
	}
	def, err := loadRunContainer(fsys, name)
	if err != nil {
		return nil
	}
	return def
}

// runLifecycleOfRun stops, starts or restarts a container of dockah run,
// as docker does: stop closes its published ports too, and a start of a
// container that has ended makes its transient units again, detached,
// from the definition it was run with.
func runLifecycleOfRun(ctx context.Context, conn *sdbus.Conn, verb string, opts *lifecycleOptions, def *unitgen.Definition) error {
	units := unitsOf(def)
	if verb == "stop" {
		var err error
		if opts.stopTime >= 0 {
			err = stopWithin(ctx, conn, units.Service, def.Name, time.Duration(opts.stopTime)*time.Second)
		} else {
			err = runContainerJob(ctx, conn, verb, units.Service, def.Name, !opts.noBlock)
		}
		for _, s := range units.Sockets {
			err = errors.Join(err, runJob(ctx, conn, "stop", s, !opts.noBlock))
		}
		return err
	}
	state, err := conn.GetUnitPropertyContext(ctx, units.Service, "ActiveState")
	running := err == nil && (containerStatus{State: strings.Trim(state.Value.String(), `"`)}).running()
	switch {
	case running && def.Scope && verb == "restart":
		return fmt.Errorf("restart %s: it runs attached to its dockah run (%s), which a restart would end: stop it, then start it (detached)", def.Name, units.Service)
	case running:
		return startContainer(ctx, conn, verb, units, def.Name, !opts.noBlock)
	case def.Scope:
		// Its attached run is over: it starts again as a service.
		if err := os.Remove(runScopePath(def.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		def.Scope = false
		units = unitsOf(def)
	}
	_ = conn.ResetFailedUnitContext(ctx, units.Service)
	cli, err := os.Executable()
	if err != nil {
		return err
	}
	sandbox, err := sandboxProperties(def, opts.store.storeRoot)
	if err != nil {
		return err
	}
	if err := os.Remove(runExitPath(def.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	r := &transientRun{
		conn: conn, name: def.Name, def: def, definition: def.SourcePath, store: opts.store.storeRoot,
		detach: true, cli: cli, sandbox: sandbox,
	}
	if err := r.start(ctx); err != nil {
		r.cleanUpFailedStart()
		return fmt.Errorf("%s %s: %w", verb, def.Name, err)
	}
	return nil
}
