package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/policy"
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
	// Plans makes a start of a definition of the search path use the
	// container's stored start plan when it is valid, and compute one to
	// store (SavePlan) when it is not.
	Plans bool
}

// Prepared is a container's configuration for one start (or exec, or
// printed spec), and what it was made from.
type Prepared struct {
	// Definition and Image are nil when the start came from a plan.
	Definition *unitgen.Definition
	Image      *rootfs.Image
	// Container is what the start needs of the definition.
	Container Container
	Config    *activation.Config
	// Sockets are the passed sockets, matched to the definition: those
	// with a Port are forwarded, the others are in Config.Sockets.
	Sockets []PassedSocket
	// FromPlan is set when the start came from a stored plan; PlanNote
	// says why not otherwise (none stored, what changed...), and whether
	// the plan computed instead will be stored.
	FromPlan bool
	PlanNote string

	store   *rootfs.Store
	planned *plan  // the plan computed for this start, to store
	pending []byte // and its encoding, see SavePlan
}

// ConfigError marks an error that restarting will not fix: a bad
// definition, a missing image, a policy the host cannot apply.
type ConfigError struct{ Err error }

func (e ConfigError) Error() string { return e.Err.Error() }
func (e ConfigError) Unwrap() error { return e.Err }

// Prepare loads the definition of name and its image and computes the
// container's configuration for o.Mode. With o.Plans, a start reads the
// container's start plan instead when it is valid (plan.go).
func Prepare(name string, o Options) (*Prepared, error) {
	store, err := rootfs.Open(o.StoreRoot)
	if err != nil {
		return nil, err
	}
	usePlans := o.Plans && o.Mode == ModeStart && o.DefinitionFile == ""
	var confined *unitgen.Definition
	if o.Confine != nil {
		// The shim confines itself before it reads anything of the
		// image, plan or not; its sandbox depends on the definition.
		// (A plan could carry the sandbox and save this load.)
		if confined, err = loadDefinition(name, o.Definitions, o); err != nil {
			return nil, ConfigError{err}
		}
		if err := o.Confine(confined); err != nil {
			return nil, err
		}
		// A start on a network needs the definition's networks, which a
		// plan does not keep.
		if confined.Container.JoinsNetworks() {
			usePlans = false
		}
	}
	var facts hostFacts
	var note string
	if usePlans {
		if facts, err = readHostFacts(); err != nil {
			usePlans, note = false, err.Error()
		} else if p, err := loadPlan(store, name, facts, o.Definitions); err != nil {
			note = err.Error()
		} else {
			activation.Trace("shim: plan loaded")
			prep, err := finish(store, p, o)
			if prep != nil {
				prep.FromPlan, prep.PlanNote = true, "loaded"
				prep.Definition = confined
			}
			return prep, err
		}
		activation.Trace("shim: no plan: " + note)
	}
	var rec *recorder
	computed := now()
	if usePlans {
		rec = &recorder{}
	}
	p, def, image, err := compute(name, store, o, rec)
	if err != nil {
		return nil, err
	}
	if o.Mode == ModePrint {
		return &Prepared{Definition: def, Image: image, Container: p.Container, Config: p.Config}, nil
	}
	var pending []byte
	if usePlans {
		pending, err = pendingPlan(p, rec, facts, computed)
		if err != nil {
			note += "; the plan computed is not stored: " + err.Error()
			activation.Trace("shim: plan not stored: " + err.Error())
		}
	}
	prep, err := finish(store, p, o)
	if err != nil {
		return nil, err
	}
	prep.Definition, prep.Image, prep.PlanNote = def, image, note
	if pending != nil {
		prep.planned, prep.pending = p, pending
	}
	return prep, nil
}

// now is the clock a computation's start is taken from (tests move it).
var now = time.Now

// SavePlan stores the plan computed for this start, if it is to be
// stored: call it once the container runs, off the start's path. A plan
// that does not decode to exactly what was computed is not stored.
func (p *Prepared) SavePlan() error {
	if p.pending == nil {
		return nil
	}
	data, planned := p.pending, p.planned
	p.pending, p.planned = nil, nil
	if err := roundTrips(data, planned); err != nil {
		return fmt.Errorf("plan of %s: %w", planned.Name, err)
	}
	return p.store.WritePlan(planned.Name, data)
}

// loadPlan reads the stored plan of name and checks that it is still
// valid; the error says why there is none to use.
func loadPlan(store *rootfs.Store, name string, facts hostFacts, fsys fs.FS) (*plan, error) {
	data, err := store.ReadPlan(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("none stored")
	}
	if err != nil {
		return nil, err
	}
	p, err := decodePlan(data, name)
	if err != nil {
		return nil, fmt.Errorf("stored plan: %w", err)
	}
	if err := p.Key.check(facts, fsys); err != nil {
		return nil, fmt.Errorf("stale: %w", err)
	}
	return p, nil
}

// pendingPlan encodes p with its key, or says why it is not stored.
func pendingPlan(p *plan, rec *recorder, facts hostFacts, computed time.Time) ([]byte, error) {
	if err := p.storable(); err != nil {
		return nil, err
	}
	key, err := rec.key(facts, computed)
	if err != nil {
		return nil, err
	}
	p.Key = key
	return encodePlan(p), nil
}

// compute loads the definition and the image and computes the parts of
// the configuration that do not change from one start to the next. rec,
// when set, records every file it depends on.
func compute(name string, store *rootfs.Store, o Options, rec *recorder) (*plan, *unitgen.Definition, *rootfs.Image, error) {
	fsys := o.Definitions
	if rec != nil {
		fsys = recordingFS{fsys: fsys, rec: rec}
	}
	def, err := loadDefinition(name, fsys, o)
	if err != nil {
		return nil, nil, nil, ConfigError{err}
	}
	activation.Trace("shim: definition loaded")
	for _, d := range store.NameDirs() {
		rec.stat(d)
	}
	image, err := store.Resolve(def.Container.Image)
	if err != nil {
		return nil, nil, nil, ConfigError{fmt.Errorf("image %s: %w", def.Container.Image, err)}
	}
	if record, err := store.ImageRecord(image.ID); err == nil {
		rec.stat(record)
	}
	activation.Trace("shim: image resolved")
	envFiles, err := readEnvFiles(def.Container.EnvironmentFiles, rec)
	if err != nil {
		return nil, nil, nil, ConfigError{err}
	}
	volumes := store.VolumeDir()
	spec, err := unitgen.Spec(def, unitgen.SpecInput{Image: image.Config.Config, EnvFiles: envFiles, VolumeDir: volumes})
	if err != nil {
		return nil, nil, nil, ConfigError{err}
	}
	activation.Trace("shim: image and spec")
	req := request{
		Name: name, Spec: spec, StoreRoot: store.Root(),
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
	if filepath.IsAbs(req.Security.Seccomp) {
		rec.stat(req.Security.Seccomp)
	}
	if err := imageStopSignal(&req, def, image); err != nil {
		return nil, nil, nil, ConfigError{err}
	}
	cfg, labels, err := configure(req)
	if err != nil {
		return nil, nil, nil, ConfigError{err}
	}
	p := &plan{
		Name: name,
		Container: Container{
			Image: def.Container.Image, Unit: def.ServiceUnit(), Notify: def.Container.Notify,
			StartTimeout: def.Service.StartTimeout, IdleTimeout: def.Service.IdleTimeout,
			UserNS: def.Security.UserNS, UserNSSize: def.Security.UserNSSize,
		},
		Sockets: socketGroups(def), Volumes: namedVolumes(def),
		ImageID: image.ID, Lower: lowerDirs(image),
		Ephemeral: def.Container.Ephemeral, ReadOnly: def.Container.ReadOnly,
		Config: cfg, labels: labels, relabel: req.Security.Volumes,
		// Read once by configure already (go-selinux keeps it).
		selinux: policy.HostSELinux().Enabled(),
	}
	if uid, gid, ok := def.Security.IDMaps(); ok {
		p.Container.UIDMap, p.Container.GIDMap, p.Container.UserNSSize = uid.Host, gid.Host, uid.Size
	}
	return p, def, image, nil
}

// finish completes a plan into one start's (or exec's) configuration:
// what must be done or read at every start.
func finish(store *rootfs.Store, p *plan, o Options) (*Prepared, error) {
	passed, err := matchSockets(p.Sockets, o.Sockets)
	if err != nil {
		return nil, ConfigError{err}
	}
	var inside []string
	for _, s := range passed {
		if s.Port == 0 {
			inside = append(inside, s.Name)
		}
	}
	root, err := writableLayer(store, p, o)
	if err != nil {
		return nil, err
	}
	activation.Trace("shim: mount plan")
	if err := relabelOnce(p.labels, root.Upper, p.relabel); err != nil {
		return nil, ConfigError{err}
	}
	// A copy: the plan stays as computed, to be stored.
	cfg := *p.Config
	if err := completeConfig(store.Root(), &cfg, root, inside); err != nil {
		return nil, err
	}
	// An ephemeral container's writable layer is emptied at its next
	// start: nothing need ever sync it.
	cfg.Root.Volatile = p.Ephemeral
	if cfg.UserNS, err = userNamespace(store.Root(), p.Name, p.Container, o.Mode, o.transient()); err != nil {
		return nil, ConfigError{err}
	}
	if root.Upper != "" {
		if err := shiftWritable(store, p.Name, cfg.UserNS, o.transient()); err != nil {
			return nil, err
		}
	}
	if o.Mode == ModeStart {
		if err := chownVolumes(store, p.Name, cfg.Spec.Mounts, cfg.UserNS); err != nil {
			return nil, err
		}
	}
	if p.Container.Notify && o.Mode == ModeStart && o.NotifySocket != "" {
		const inside = "/run/host/notify"
		spec, proc := *cfg.Spec, *cfg.Spec.Process
		spec.Mounts = append(slices.Clip(spec.Mounts), specs.Mount{Destination: inside, Type: "bind", Source: o.NotifySocket, Options: []string{"bind"}})
		proc.Env = append(slices.Clip(proc.Env), "NOTIFY_SOCKET="+inside)
		spec.Process, cfg.Spec = &proc, &spec
	}
	return &Prepared{Container: p.Container, Config: &cfg, Sockets: passed, store: store}, nil
}

// completeConfig adds to cfg what each start gives it: the root (the
// init layer over the plan's), the mount point, the host's name files and
// the names of the sockets passed in.
func completeConfig(storeRoot string, cfg *activation.Config, root *rootfs.Plan, sockets []string) error {
	initLayer, err := activation.InitLayer(filepath.Join(storeRoot, "init"))
	if err != nil {
		return err
	}
	mountPoint := filepath.Join(storeRoot, "mnt")
	if err := os.MkdirAll(mountPoint, 0o700); err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	cfg.Root = activation.RootLayers{Lower: append([]string{initLayer}, root.Lower...), Upper: root.Upper, Work: root.Work}
	cfg.MountPoint = mountPoint
	cfg.Files = hostFiles(cfg.Spec)
	cfg.Sockets = sockets
	return nil
}

// loadDefinition reads the definition from the search path, or from the
// one file of a "dockah run" container.
func loadDefinition(name string, fsys fs.FS, o Options) (*unitgen.Definition, error) {
	if o.DefinitionFile == "" {
		return unitgen.LoadUnit(fsys, name)
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

// writableLayer returns the plan of the container's root. Only a start
// may prepare the writable layer: it creates it, and empties it for an
// ephemeral container, which would wipe a running container's files. An
// exec gets a plan without a writable layer, which is all it looks at
// (the layer to relabel). Named volumes are made on their first use.
func writableLayer(store *rootfs.Store, p *plan, o Options) (*rootfs.Plan, error) {
	if o.Mode == ModeExec {
		return &rootfs.Plan{ImageID: p.ImageID}, nil
	}
	if err := makeNamedVolumes(store, p.Volumes, p.Lower, o.Log); err != nil {
		return nil, err
	}
	return store.Writable(p.ImageID, p.Lower, p.Name, rootfs.MountOptions{Ephemeral: p.Ephemeral, ReadOnly: p.ReadOnly, Transient: o.transient()})
}

// transient reports whether the container does not outlive the boot: one
// of dockah run, whose definition is in /run. Its records (the image of
// its writable layer, the range the layer is owned by, its user namespace
// range) need not be durable.
func (o Options) transient() bool { return o.DefinitionFile != "" }

// lowerDirs are the image's layer directories, topmost first.
func lowerDirs(image *rootfs.Image) []string {
	lower := make([]string, 0, len(image.Layers))
	for i := len(image.Layers) - 1; i >= 0; i-- {
		lower = append(lower, image.Layers[i].Dir)
	}
	return lower
}

// StoreRoot is the image store: DOCKAH_ROOT, or /var/lib/dockah.
func StoreRoot() string {
	if r := os.Getenv("DOCKAH_ROOT"); r != "" {
		return r
	}
	return "/var/lib/dockah"
}

// readEnvFiles reads the environment files, each stat recorded before it
// is read.
func readEnvFiles(paths []string, rec *recorder) ([][]byte, error) {
	var files [][]byte
	for _, p := range paths {
		rec.stat(p)
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
