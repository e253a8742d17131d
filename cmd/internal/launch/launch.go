package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

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
	// StoreRoot is the image store.
	StoreRoot string
	// Sockets are the names of the sockets systemd passed (ModeStart).
	Sockets []string
	// NotifySocket is systemd's notification socket, bound into the
	// container when its definition says notify = true (ModeStart).
	NotifySocket string
	// Log receives notes worth a line in the journal.
	Log func(string)
}

// Prepared is a container's definition, image and configuration.
type Prepared struct {
	Definition *unitgen.Definition
	Image      *rootfs.Image
	Config     *activation.Config
}

// ConfigError marks an error that restarting will not fix: a bad
// definition, a missing image, a policy the host cannot apply.
type ConfigError struct{ Err error }

func (e ConfigError) Error() string { return e.Err.Error() }
func (e ConfigError) Unwrap() error { return e.Err }

// Prepare loads the definition of name and its image and computes the
// container's configuration for o.Mode.
func Prepare(name string, o Options) (*Prepared, error) {
	def, err := unitgen.LoadUnit(o.Definitions, name)
	if err != nil {
		return nil, ConfigError{err}
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
	volumes := store.Root() + "/volumes"
	spec, err := unitgen.Spec(def, unitgen.SpecInput{Image: image.Config.Config, EnvFiles: envFiles, VolumeDir: volumes})
	if err != nil {
		return nil, ConfigError{err}
	}
	plan, err := mountPlan(store, def, image, name, o.Mode)
	if err != nil {
		return nil, err
	}
	req := activation.Request{
		Name: name, Spec: spec, Plan: plan, StoreRoot: store.Root(), Sockets: o.Sockets,
		Security: activation.Security{
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
	cfg, err := activation.Prepare(req)
	if err != nil {
		return nil, ConfigError{err}
	}
	return &Prepared{Definition: def, Image: image, Config: cfg}, nil
}

// mountPlan returns the plan of the container's root. Only a start may
// call the store's MountPlan: it creates the writable layer, and empties
// it for an ephemeral container, which would wipe a running container's
// files. An exec gets a plan without a writable layer, which is all
// activation.Prepare looks at (the layer to relabel).
func mountPlan(store *rootfs.Store, def *unitgen.Definition, image *rootfs.Image, name string, mode Mode) (*rootfs.Plan, error) {
	switch mode {
	case ModePrint:
		return nil, nil
	case ModeExec:
		return &rootfs.Plan{ImageID: image.ID}, nil
	}
	volumes := store.Root() + "/volumes"
	if err := makeNamedVolumes(def, volumes); err != nil {
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

// IsConfigError reports whether err is one restarting will not fix.
func IsConfigError(err error) bool {
	var c ConfigError
	return errors.As(err, &c)
}
