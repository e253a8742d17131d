package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/machined"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

// exitConfig (EX_CONFIG) is the exit status for a start that cannot work
// until someone changes something: a bad definition, a missing image. The
// generated unit lists it in RestartPreventExitStatus=, so systemd does not
// restart in a loop.
const exitConfig = 78

// configError marks errors that restarting will not fix.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// prepared is a container ready to start.
type prepared struct {
	def *unitgen.Definition
	cfg *activation.Config
}

// prepare loads the definition and the image and computes the container's
// configuration.
func prepare(name string, sockets []string, printable bool) (*prepared, error) {
	def, err := loadDefinition(name)
	if err != nil {
		return nil, err
	}
	store, err := rootfs.Open(storeRoot())
	if err != nil {
		return nil, err
	}
	image, err := store.Resolve(def.Container.Image)
	if err != nil {
		return nil, configError{fmt.Errorf("image %s: %w", def.Container.Image, err)}
	}
	envFiles, err := readEnvFiles(def.Container.EnvironmentFiles)
	if err != nil {
		return nil, configError{err}
	}
	spec, err := unitgen.Spec(def, unitgen.SpecInput{Image: image.Config.Config, EnvFiles: envFiles, VolumeDir: store.Root() + "/volumes"})
	if err != nil {
		return nil, configError{err}
	}
	var plan *rootfs.Plan
	if !printable {
		if err := makeNamedVolumes(def, store.Root()+"/volumes"); err != nil {
			return nil, err
		}
		plan, err = store.MountPlan(image.ID, name, rootfs.MountOptions{Ephemeral: def.Container.Ephemeral, ReadOnly: def.Container.ReadOnly})
		if err != nil {
			return nil, err
		}
	}
	req := activation.Request{
		Name: name, Spec: spec, Plan: plan, StoreRoot: store.Root(), Sockets: sockets,
		Security: activation.Security{
			CapabilitiesAdd:  def.Security.CapabilitiesAdd,
			CapabilitiesDrop: def.Security.CapabilitiesDrop,
			Seccomp:          def.Security.Seccomp,
			MaskedPaths:      def.Security.MaskedPaths,
			SELinuxType:      def.Security.SELinuxType,
			SELinuxLevel:     def.Security.SELinuxLevel,
			Volumes:          volumeLabels(def, store.Root()+"/volumes"),
		},
		Init:      def.Container.Init,
		Printable: printable,
		Log:       func(msg string) { logLine(name, msg) },
	}
	if def.Container.Notify {
		req.NotifySocket = os.Getenv(activation.NotifySocketEnv)
	}
	cfg, err := activation.Prepare(req)
	if err != nil {
		return nil, configError{err}
	}
	return &prepared{def: def, cfg: cfg}, nil
}

// logLine writes one line to the journal (the shim's stderr). A leading
// "<N>" priority is moved to the front of the line, where journald reads it.
func logLine(name, msg string) {
	prefix := ""
	if len(msg) > 3 && msg[0] == '<' && msg[2] == '>' {
		prefix, msg = msg[:3], msg[3:]
	}
	fmt.Fprintf(os.Stderr, "%sdockah-activate: %s: %s\n", prefix, name, msg)
}

func storeRoot() string {
	if r := os.Getenv("DOCKAH_ROOT"); r != "" {
		return r
	}
	return "/var/lib/dockah"
}

func readEnvFiles(paths []string) ([][]byte, error) {
	var files [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("environment file: %w", err)
		}
		files = append(files, data)
	}
	return files, nil
}

// volumeLabels lists the volumes whose SELinux label the definition asks
// dockah to set.
func volumeLabels(def *unitgen.Definition, dir string) []activation.VolumeLabel {
	var out []activation.VolumeLabel
	for _, v := range def.Volumes {
		if v.Relabel == unitgen.RelabelPrivate || v.Relabel == unitgen.RelabelShared {
			p := v.Source
			if v.IsNamed() {
				p = dir + "/" + v.Source + "/_data"
			}
			out = append(out, activation.VolumeLabel{Path: p, Relabel: v.Relabel})
		}
	}
	return out
}

func makeNamedVolumes(def *unitgen.Definition, dir string) error {
	for _, v := range def.Volumes {
		if v.IsNamed() {
			if err := os.MkdirAll(dir+"/"+v.Source+"/_data", 0o755); err != nil {
				return fmt.Errorf("create volume %s: %w", v.Source, err)
			}
		}
	}
	return nil
}

// start runs the container. Under systemd it returns as soon as the
// entrypoint runs, after handing systemd the container's pid; by hand
// (no NOTIFY_SOCKET) it waits and returns the container's exit status.
func start(name string) (int, error) {
	sockets, names, err := passedSockets()
	if err != nil {
		return 0, err
	}
	prep, err := prepare(name, names, false)
	if err != nil {
		return 0, err
	}
	registered := make(chan error, 1)
	c, err := activation.Start(prep.cfg, activation.StartOptions{
		Sockets: sockets,
		Started: func(pid int) { go func() { registered <- register(name, pid) }() },
	})
	if err != nil {
		return 0, err
	}
	if err := <-registered; err != nil {
		fmt.Fprintf(os.Stderr, "dockah-activate: %s: not registered with systemd-machined: %v\n", name, err)
	}
	state := fmt.Sprintf("MAINPID=%d", c.Pid)
	if !prep.def.Container.Notify {
		state += "\nREADY=1"
	}
	err = activation.Notify(state, 10*time.Second)
	if errors.Is(err, activation.ErrNoNotifySocket) {
		return c.Wait()
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

func register(name string, pid int) error {
	conn, err := machined.New()
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Register(machined.Machine{
		Name: machined.Name(name), Service: "dockah", Class: "container", Leader: pid,
	})
}

// passedSockets takes the sockets systemd passed (sd_listen_fds): fds 3
// and on, with their names. They are handed on as they are, so they must
// not be closed on exec.
func passedSockets() ([]*os.File, []string, error) {
	pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID"))
	count, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if pid != os.Getpid() || count <= 0 {
		return nil, nil, nil
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	files := make([]*os.File, count)
	out := make([]string, count)
	for i := range files {
		files[i] = os.NewFile(uintptr(3+i), "socket")
		out[i] = "unknown"
		if i < len(names) && names[i] != "" {
			out[i] = names[i]
		}
	}
	return files, out, nil
}
