package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

// Mode says what the configuration is for.
type Mode int

const (
	// ModeStart prepares a start: named volumes and the writable layer
	// are created, an ephemeral layer is emptied.
	ModeStart Mode = iota
	// ModePrint prepares a spec to print: nothing is created, and the
	// spec carries the resolved seccomp rules.
	ModePrint
	// ModeExec prepares a command run inside the running container: the
	// policy only, leaving the container's layers alone.
	ModeExec
)

// Options are what Prepare needs besides the container's name.
type Options struct {
	Mode Mode
	// Definitions is the file system the definitions are read from:
	// os.DirFS("/") in production.
	Definitions fs.FS
	// DefinitionFile, if set, is the one file the definition is read
	// from instead (containers of "dockah run", outside the search path).
	DefinitionFile string
	// StoreRoot is the image store.
	StoreRoot string
	// Sockets are the names (LISTEN_FDNAMES) of all the sockets systemd
	// passed (ModeStart); those with a container port are forwarded, the
	// others passed in.
	Sockets []string
	// NotifySocket is systemd's notification socket, bound into the
	// container when its definition says notify = true (ModeStart).
	NotifySocket string
	// Log receives notes worth a line in the journal.
	Log func(string)
	// Confine, if set, is called with the definition as soon as it is
	// loaded, before anything of the image or the store is read: the shim
	// confines itself there (ModeStart).
	Confine func(*unitgen.Definition) error
}

// Prepared is a container's definition, image and configuration.
type Prepared struct {
	Definition *unitgen.Definition
	Image      *rootfs.Image
	Config     *activation.Config
	// Sockets are the passed sockets, matched to the definition: those
	// with a Port are forwarded, the others are in Config.Sockets.
	Sockets []PassedSocket
}

// ConfigError marks an error that restarting will not fix: a bad
// definition, a missing image, a policy the host cannot apply.
type ConfigError struct{ Err error }

func (e ConfigError) Error() string { return e.Err.Error() }
func (e ConfigError) Unwrap() error { return e.Err }

// Prepare loads the definition of name and its image and computes the
// container's configuration for o.Mode.
func Prepare(name string, o Options) (*Prepared, error) {
	def, err := loadDefinition(name, o)
	if err != nil {
		return nil, ConfigError{err}
	}
	activation.Trace("shim: definition loaded")
	if o.Confine != nil {
		if err := o.Confine(def); err != nil {
			return nil, err
		}
	}
	passed, err := MatchSockets(def, o.Sockets)
	if err != nil {
		return nil, ConfigError{err}
	}
	var inside []string
	for _, p := range passed {
		if p.Port == 0 {
			inside = append(inside, p.Name)
		}
	}
	store, err := rootfs.Open(o.StoreRoot)
	if err != nil {
		return nil, err
	}
	image, err := store.Resolve(def.Container.Image)
	if err != nil {
		return nil, ConfigError{fmt.Errorf("image %s: %w", def.Container.Image, err)}
	}
	envFiles, err := readEnvFiles(def.Container.EnvironmentFiles)
	if err != nil {
		return nil, ConfigError{err}
	}
	volumes := store.VolumeDir()
	spec, err := unitgen.Spec(def, unitgen.SpecInput{Image: image.Config.Config, EnvFiles: envFiles, VolumeDir: volumes})
	if err != nil {
		return nil, ConfigError{err}
	}
	activation.Trace("shim: image and spec")
	plan, err := mountPlan(store, def, image, name, o)
	if err != nil {
		return nil, err
	}
	activation.Trace("shim: mount plan")
	req := request{
		Name: name, Spec: spec, Plan: plan, StoreRoot: store.Root(), Sockets: inside,
		Security: security{
			CapabilitiesAdd:  def.Security.CapabilitiesAdd,
			CapabilitiesDrop: def.Security.CapabilitiesDrop,
			Seccomp:          def.Security.Seccomp,
			MaskedPaths:      def.Security.MaskedPaths,
			SELinuxType:      def.Security.SELinuxType,
			SELinuxLevel:     def.Security.SELinuxLevel,
			Volumes:          volumeLabels(def, volumes),
		},
		Init:      def.Container.Init,
		Printable: o.Mode == ModePrint,
		Log:       o.Log,
	}
	if def.Container.Notify && o.Mode == ModeStart {
		req.NotifySocket = o.NotifySocket
	}
	if err := imageStopSignal(&req, def, image); err != nil {
		return nil, ConfigError{err}
	}
	cfg, err := configure(req)
	if err != nil {
		return nil, ConfigError{err}
	}
	return &Prepared{Definition: def, Image: image, Config: cfg, Sockets: passed}, nil
}

// loadDefinition reads the definition from the search path, or from the
// one file of a "dockah run" container.
func loadDefinition(name string, o Options) (*unitgen.Definition, error) {
	if o.DefinitionFile == "" {
		return unitgen.LoadUnit(o.Definitions, name)
	}
	data, err := os.ReadFile(o.DefinitionFile)
	if err != nil {
		return nil, err
	}
	return unitgen.Parse(name, unitgen.File{Path: o.DefinitionFile, Data: data})
}

// imageStopSignal honours the image's StopSignal. systemd sends the unit's
// KillSignal= (SIGTERM unless the definition sets stop_signal), and pid 1
// of a container ignores a signal it has no handler for; so when the image
// asks for another signal and the definition does not override it, a tiny
// init runs as pid 1 and turns SIGTERM into the image's signal.
func imageStopSignal(req *request, def *unitgen.Definition, image *rootfs.Image) error {
	name := image.Config.Config.StopSignal
	if name == "" || def.Service.StopSignal != "" {
		return nil
	}
	sig, err := parseSignal(name)
	if err != nil {
		return fmt.Errorf("image %s: StopSignal %q: %w", def.Container.Image, name, err)
	}
	if sig == syscall.SIGTERM {
		return nil
	}
	req.Init, req.StopSignal = true, int(sig)
	return nil
}

// parseSignal reads a signal as images write it: "SIGQUIT", "QUIT" or "3".
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	// Real-time signals as glibc numbers them (34 to 64), as Docker does.
	const rtmin, rtmax = 34, 64
	for prefix, base := range map[string]int{"SIGRTMIN+": rtmin, "SIGRTMAX-": rtmax} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			n, err := strconv.Atoi(rest)
			sig := base + n
			if prefix == "SIGRTMAX-" {
				sig = base - n
			}
			if err == nil && n >= 0 && sig >= rtmin && sig <= rtmax {
				return syscall.Signal(sig), nil
			}
		}
	}
	return 0, errors.New("not a signal (accepted: a name such as SIGQUIT, or a number)")
}

// mountPlan returns the plan of the container's root. Only a start may
// call the store's MountPlan: it creates the writable layer, and empties
// it for an ephemeral container, which would wipe a running container's
// files. An exec gets a plan without a writable layer, which is all
// configure looks at (the layer to relabel).
func mountPlan(store *rootfs.Store, def *unitgen.Definition, image *rootfs.Image, name string, o Options) (*rootfs.Plan, error) {
	switch o.Mode {
	case ModePrint:
		return nil, nil
	case ModeExec:
		return &rootfs.Plan{ImageID: image.ID}, nil
	}
	if err := makeNamedVolumes(store, def, image, o.Log); err != nil {
		return nil, err
	}
	return store.MountPlan(image.ID, name, rootfs.MountOptions{Ephemeral: def.Container.Ephemeral, ReadOnly: def.Container.ReadOnly})
}

// StoreRoot is the image store: DOCKAH_ROOT, or /var/lib/dockah.
func StoreRoot() string {
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
func volumeLabels(def *unitgen.Definition, dir string) []volumeLabel {
	var out []volumeLabel
	for _, v := range def.Volumes {
		if v.Relabel == unitgen.RelabelPrivate || v.Relabel == unitgen.RelabelShared {
			p := v.Source
			if v.IsNamed() {
				p = dir + "/" + v.Source + "/_data"
			}
			out = append(out, volumeLabel{Path: p, Relabel: v.Relabel})
		}
	}
	return out
}

// IsConfigError reports whether err is one restarting will not fix.
func IsConfigError(err error) bool {
	var c ConfigError
	return errors.As(err, &c)
}
