package activation

import (
	"encoding/json"
	"fmt"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Config is everything a start needs. The shim builds it in the host's
// namespaces (where the definition, the image store and the host's files
// are at hand) and Start applies it inside the new namespaces, on a
// thread of the shim or in the setup stage (which reads it as JSON), so
// that part only mounts and execs.
type Config struct {
	// Name is the container's name, for messages.
	Name string `json:"name"`
	// Spec is the OCI runtime spec: process, hostname, mounts, masked and
	// read-only paths, namespaces.
	Spec *specs.Spec `json:"spec"`
	// Root is the overlay the root filesystem is made of.
	Root RootLayers `json:"root"`
	// MountPoint is an existing host directory the start mounts its
	// scratch tmpfs and the root on; the mounts exist only in the
	// container's mount namespace.
	MountPoint string `json:"mount_point"`
	// Files are small files created fresh for each start and bound read
	// only over their path in the root: /etc/hostname, /etc/hosts,
	// /etc/resolv.conf.
	Files map[string]string `json:"files,omitempty"`
	// Sockets are the names (LISTEN_FDNAMES) of the sockets passed as
	// fd 3 and on.
	Sockets []string `json:"sockets,omitempty"`
	// Seccomp is the compiled BPF program (struct sock_filter array),
	// loaded right before exec; nil means unconfined.
	Seccomp []byte `json:"seccomp,omitempty"`
	// Capabilities are the capability sets for root; UserCapabilities
	// those for any other user (known only once the user is resolved
	// inside the image).
	Capabilities     CapabilitySets `json:"capabilities"`
	UserCapabilities CapabilitySets `json:"user_capabilities"`
	// Init makes a tiny init pid 1 that forwards signals and reaps
	// zombies, instead of exec'ing the entrypoint as pid 1.
	Init bool `json:"init,omitempty"`
	// StopSignal is what the init sends the entrypoint when it receives
	// SIGTERM (the image's StopSignal); 0 means forward as is.
	StopSignal int `json:"stop_signal,omitempty"`
	// LoopbackUp brings up lo in a private network namespace.
	LoopbackUp bool `json:"loopback_up,omitempty"`
	// UserNS, if set, gives the container a user namespace of its own
	// mapped onto this range of host IDs; its other namespaces belong to
	// it, and its image layers, writable layer and volumes are mounted
	// idmapped onto the range (userns_linux.go).
	UserNS *IDMapping `json:"userns,omitempty"`
}

// IDMapping maps container user IDs 0 to Size-1 onto host user IDs UID to
// UID+Size-1, and group IDs likewise onto GID to GID+Size-1.
type IDMapping struct {
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	Size uint32 `json:"size"`
}

// RootLayers is the overlay of the root filesystem: image layers (topmost
// first) and, unless the root is read-only, the writable layer.
type RootLayers struct {
	Lower []string `json:"lower"`
	Upper string   `json:"upper,omitempty"`
	Work  string   `json:"work,omitempty"`
	// Volatile marks a writable layer that is thrown away (an ephemeral
	// container's, dockah run --rm's): overlayfs's volatile option, so
	// that nothing syncs it, the unmount at the container's end least
	// of all, which would sync the whole file system under the store.
	Volatile bool `json:"volatile,omitempty"`
}

// CapabilitySets are the five capability sets as bit masks (bit n is
// capability n), the form capset(2) and prctl(2) take.
type CapabilitySets struct {
	Bounding    uint64 `json:"bounding"`
	Effective   uint64 `json:"effective"`
	Permitted   uint64 `json:"permitted"`
	Inheritable uint64 `json:"inheritable"`
	Ambient     uint64 `json:"ambient"`
}

// maxConfigSize bounds the configuration a stage reads.
const maxConfigSize = 16 << 20

func writeConfig(w io.Writer, cfg *Config) error {
	return json.NewEncoder(w).Encode(cfg)
}

func readConfig(r io.Reader) (*Config, error) {
	var cfg Config
	if err := json.NewDecoder(io.LimitReader(r, maxConfigSize)).Decode(&cfg); err != nil {
		return nil, fmt.Errorf("read container configuration: %w", err)
	}
	if cfg.Spec == nil || cfg.Spec.Process == nil {
		return nil, fmt.Errorf("container configuration has no process")
	}
	return &cfg, nil
}
