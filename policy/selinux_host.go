package policy

import (
	"errors"
	"fmt"

	"github.com/opencontainers/selinux/go-selinux"
)

// SELinuxHost is what the label logic needs to know about the running
// host. HostSELinux answers from the kernel; tests answer for hosts this
// machine is not (this kernel has no SELinux at all).
type SELinuxHost interface {
	// Enabled reports whether SELinux is on (enforcing or permissive).
	Enabled() bool
	// Enforcing reports whether denials are enforced.
	Enforcing() bool
	// CheckContext returns an error when the loaded policy does not
	// know the context (security_check_context).
	CheckContext(label string) error
}

// HostSELinux is the running host, through opencontainers/selinux.
func HostSELinux() SELinuxHost { return hostSELinux{} }

type hostSELinux struct{}

func (hostSELinux) Enabled() bool                   { return selinux.GetEnabled() }
func (hostSELinux) Enforcing() bool                 { return selinux.EnforceMode() == selinux.Enforcing }
func (hostSELinux) CheckContext(label string) error { return selinux.SecurityCheckContext(label) }

// ErrNoContainerPolicy reports an enforcing host whose policy lacks the
// container types: labelling would fail, and running unlabelled would
// drop a layer the administrator expects, so the container must not
// start.
var ErrNoContainerPolicy = errors.New("SELinux is enforcing but the container policy is missing (install container-selinux)")

// CheckSELinux decides whether labels can be used on host for a
// container of the given process type, before any level is allocated.
//
//   - SELinux disabled: an error wrapping ErrNotSupported; the shim labels
//     nothing and says so once at debug level.
//   - enforcing, and the policy does not know the process or file type:
//     an error wrapping ErrNoContainerPolicy; the shim refuses to start.
//   - permissive and the types are missing: an error wrapping
//     ErrNotSupported; nothing would be enforced anyway.
//   - otherwise nil: allocate a level and label.
func CheckSELinux(host SELinuxHost, cfg SELinuxConfig) error {
	if !host.Enabled() {
		return fmt.Errorf("SELinux is disabled: %w", ErrNotSupported)
	}
	l, err := NewLabels(cfg.Type, "s0")
	if err != nil {
		return err
	}
	var missing []error
	for _, label := range []string{l.Process, l.File} {
		if err := host.CheckContext(label); err != nil {
			missing = append(missing, fmt.Errorf("%s: %w", label, err))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if host.Enforcing() {
		return fmt.Errorf("%w: %w", ErrNoContainerPolicy, errors.Join(missing...))
	}
	return fmt.Errorf("SELinux is permissive and its policy lacks the container types (%w): %w", errors.Join(missing...), ErrNotSupported)
}

// SELinuxLabels returns a container's labels: the definition's level,
// recorded in reg, or the container's own unique pair from reg. Call it
// after CheckSELinux returned nil; `dockah inspect` may call it on any
// host to show the label a container has or would have.
func SELinuxLabels(reg *MCSRegistry, name string, cfg SELinuxConfig) (Labels, error) {
	if _, err := NewLabels(cfg.Type, "s0"); err != nil {
		return Labels{}, err // check the type before touching the registry
	}
	var level string
	var err error
	if cfg.Level != "" {
		level, err = reg.Reserve(name, cfg.Level)
	} else {
		level, err = reg.Allocate(name)
	}
	if err != nil {
		return Labels{}, err
	}
	return NewLabels(cfg.Type, level)
}
