package launch

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/policy"
)

// A start plan is what Prepare computes for one container that stays the
// same from one start to the next: the definition merged with its
// drop-ins, the image's ID, layers and config, the runtime spec, the
// capability sets, masked paths and the compiled seccomp program. The
// shim computes it on a start that finds none valid and stores it in the
// image store (rootfs.Store.WritePlan, ROOT/plans/NAME) after the
// container has started; the next start checks its key (a few stats,
// plankey.go) and reads it instead of the definition, the image and the
// policy. What must happen at every start still does: sockets are
// matched, named volumes made on first use, the writable layer prepared
// (or emptied), the host's name files read for a container on the host's
// network.
//
// It is computed by the shim, not by the generator at daemon-reload (the
// generator stays pure: it never reads the store), nor by image import or
// pull (the plan depends on the shim's own bounding set, which only the
// shim knows). Plans are not used for containers of "dockah run" (started
// from a definition file once, by name) nor on a host with SELinux on
// (labels are allocated and volumes relabelled per start).
//
// File layout: planMagic, the SHA-256 of the rest, then the plan in
// plancodec.go's encoding. A file that fails any check is ignored and
// rewritten.

// planMagic starts every plan file.
const planMagic = "DKPLAN1\n"

// plan is one container's start plan; its exported fields are the
// file's body.
type plan struct {
	Name      string
	Key       planKey
	Container Container
	// Sockets are the definition's sockets by their LISTEN_FDNAMES name.
	Sockets map[string][]socketSpec
	// Volumes are the definition's named volumes, made on first use.
	Volumes []namedVolume
	ImageID string
	// Lower are the image's layer directories, topmost first.
	Lower     []string
	Ephemeral bool
	ReadOnly  bool
	// Config is complete but for what each start adds: the root, the
	// mount point, the host's name files, the sockets and the
	// notification socket.
	Config *activation.Config

	// SELinux labels and the volumes to relabel (never in a stored plan).
	labels  policy.Labels
	relabel []volumeLabel
	// selinux: the host runs SELinux, whose mode may change at any time
	// (setenforce) and decides whether a container may start unlabelled.
	selinux bool
}

// Container is what a start needs of the definition besides its Config.
type Container struct {
	// Image is the reference as the definition writes it.
	Image string
	// Unit is the container's service unit.
	Unit string
	// Notify: the application reports READY=1 itself.
	Notify bool
	// StartTimeout and IdleTimeout are the definition's.
	StartTimeout time.Duration
	IdleTimeout  time.Duration
	// UserNS and UserNSSize are the definition's [security] userns and
	// userns_size; the range itself is allocated at each start
	// (userns.go), never kept in a plan.
	UserNS     string
	UserNSSize uint32
	// UIDMap and GIDMap are the first host IDs of the definition's
	// explicit maps (uid_map, gid_map), of UserNSSize IDs; 0: allocated.
	UIDMap, GIDMap uint32
}

// socketSpec is one socket of a socket unit: its container port (0: the
// fd is passed in) and whether it is a datagram socket.
type socketSpec struct {
	Port     int
	Datagram bool
}

// namedVolume is a named volume of the definition.
type namedVolume struct {
	Source string
	Target string
	Copy   bool
}

// storable reports why the plan must not be written, or nil.
func (p *plan) storable() error {
	if p.selinux || p.labels.Process != "" || p.labels.File != "" {
		return errors.New("the host runs SELinux: labels and its mode are decided at each start")
	}
	return nil
}

// encodePlan makes a plan file's bytes.
func encodePlan(p *plan) []byte {
	w := planWriter{b: make([]byte, len(planMagic)+sha256.Size, 8<<10)}
	copy(w.b, planMagic)
	w.plan(p)
	sum := sha256.Sum256(w.b[len(planMagic)+sha256.Size:])
	copy(w.b[len(planMagic):], sum[:])
	return w.b
}

// decodePlan reads a plan file's bytes. The file comes from a directory
// only root can write, but may be torn by a crash or written by another
// version: everything is checked, and anything unexpected is an error.
func decodePlan(data []byte, name string) (*plan, error) {
	head := len(planMagic) + sha256.Size
	if len(data) < head || string(data[:len(planMagic)]) != planMagic {
		return nil, errors.New("not a dockah start plan")
	}
	body := data[head:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[len(planMagic):head]) {
		return nil, errors.New("checksum mismatch")
	}
	r := planReader{b: body}
	p := r.plan()
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) > 0 {
		return nil, errors.New("trailing data")
	}
	return p, p.check(name)
}

// roundTrips reports whether data decodes to exactly p: a plan whose
// configuration uses something the encoding leaves out must not be
// stored.
func roundTrips(data []byte, p *plan) error {
	back, err := decodePlan(data, p.Name)
	if err != nil {
		return err
	}
	want := *p
	want.labels, want.relabel, want.selinux = policy.Labels{}, nil, false
	if !reflect.DeepEqual(back, &want) {
		return errors.New("its configuration uses a field the plan does not encode")
	}
	return nil
}

// check rejects a plan that decodes but cannot be one the shim wrote for
// name.
func (p *plan) check(name string) error {
	cfg := p.Config
	switch {
	case p.Name != name:
		return fmt.Errorf("the plan of %q", p.Name)
	case p.Key.Format != planFormat:
		return fmt.Errorf("plan format %d, want %d", p.Key.Format, planFormat)
	case cfg == nil || cfg.Spec == nil || cfg.Spec.Process == nil || cfg.Spec.Linux == nil:
		return errors.New("no runtime spec")
	case cfg.Name != name:
		return fmt.Errorf("a configuration of %q", cfg.Name)
	case len(cfg.Seccomp)%8 != 0:
		return errors.New("seccomp program is not a whole number of BPF instructions")
	case cfg.Root.Upper != "" || cfg.MountPoint != "" || len(cfg.Files) > 0 || len(cfg.Sockets) > 0:
		return errors.New("a configuration of one start")
	case p.ImageID == "":
		return errors.New("no image")
	}
	for _, l := range p.Lower {
		if l == "" || l[0] != '/' {
			return fmt.Errorf("layer directory %q", l)
		}
	}
	return nil
}
