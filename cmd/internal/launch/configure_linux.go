package launch

import (
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/policy"
)

// security is what a definition asks of the security policy; Prepare
// fills it from the definition, policy computes the rest.
type security struct {
	CapabilitiesAdd, CapabilitiesDrop []string
	// Seccomp is "default", "unconfined" or a profile path.
	Seccomp string
	// MaskedPaths are hidden in addition to the defaults.
	MaskedPaths []string
	// SELinuxType and SELinuxLevel override the process type and the
	// container's unique MCS level.
	SELinuxType, SELinuxLevel string
	// Volumes to relabel (relabel = "private" or "shared").
	Volumes []volumeLabel
}

// request is one container start (or exec, or printed spec), as Prepare
// assembled it.
type request struct {
	Name     string
	Spec     *specs.Spec // from the definition and the image (unitgen.Spec)
	Security security
	// StoreRoot is the image store; the seccomp cache and the MCS
	// registry live under it.
	StoreRoot string
	// Init and StopSignal: see activation.Config.
	Init       bool
	StopSignal int
	// Printable asks for the resolved seccomp rules in the spec, for
	// "dockah spec"; the start path only needs the compiled program.
	Printable bool
	// Log receives notes worth a line in the journal (debug notes start
	// with "<7>", which journald reads as the priority).
	Log func(string)
}

// configure completes the spec with the security policy and returns the
// part of the configuration activation.Start runs that does not change
// from one start to the next (finish adds the rest), and the SELinux
// labels. It costs a few small file reads: the seccomp program comes
// compiled from the cache. For a printed spec (req.Printable) it returns
// the spec alone, with the resolved seccomp rules in it.
func configure(req request) (*activation.Config, policy.Labels, error) {
	spec := req.Spec
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	available := factSources.bounding()
	rootCaps, err := policy.Capabilities(policy.CapConfig{Add: req.Security.CapabilitiesAdd, Drop: req.Security.CapabilitiesDrop, UID: 0, Available: available})
	if err != nil {
		return nil, policy.Labels{}, err
	}
	userCaps, err := policy.Capabilities(policy.CapConfig{Add: req.Security.CapabilitiesAdd, Drop: req.Security.CapabilitiesDrop, UID: 1, Available: available})
	if err != nil {
		return nil, policy.Labels{}, err
	}
	spec.Process.Capabilities = rootCaps.OCI()
	paths, err := policy.MaskedPaths(policy.PathConfig{Masked: req.Security.MaskedPaths, CPUs: possibleCPUs()})
	if err != nil {
		return nil, policy.Labels{}, err
	}
	spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths = paths.Masked, paths.ReadOnly

	profile, err := policy.Seccomp(policy.SeccompConfig{Profile: req.Security.Seccomp, Kernel: kernelVersion()})
	if err != nil {
		return nil, policy.Labels{}, err
	}
	prog, _, err := policy.CachedBPF(filepath.Join(req.StoreRoot, "cache", "seccomp"), profile, rootCaps.Bounding)
	if err != nil && prog == nil {
		return nil, policy.Labels{}, err
	}
	if err != nil {
		// Compiled but not cached: this start works, the next is slow.
		logf(req, err.Error())
	}
	activation.Trace("shim: seccomp program")
	if req.Printable && !profile.Unconfined() {
		spec.Linux.Seccomp = profile.Resolve(rootCaps.Bounding)
	}
	labels, note, err := selinuxLabels(req)
	if err != nil {
		return nil, policy.Labels{}, err
	}
	if note != "" && asksForLabels(req.Security) {
		// Said only when the definition asked for labels: on a host
		// without SELinux every start would say it again otherwise.
		logf(req, "<7>"+note)
	}
	spec.Process.SelinuxLabel, spec.Linux.MountLabel = labels.Process, labels.File
	activation.Trace("shim: selinux")
	if req.Printable {
		return &activation.Config{Name: req.Name, Spec: spec}, labels, nil
	}
	return &activation.Config{
		Name:             req.Name,
		Spec:             spec,
		Seccomp:          prog,
		Capabilities:     capabilitySets(rootCaps),
		UserCapabilities: capabilitySets(userCaps),
		Init:             req.Init,
		StopSignal:       req.StopSignal,
		LoopbackUp:       hasNamespace(spec, specs.NetworkNamespace),
	}, labels, nil
}

func logf(req request, msg string) {
	if req.Log != nil {
		req.Log(msg)
	}
}

func capabilitySets(c policy.Caps) activation.CapabilitySets {
	return activation.CapabilitySets{
		Bounding: uint64(c.Bounding), Effective: uint64(c.Effective), Permitted: uint64(c.Permitted),
		Inheritable: uint64(c.Inheritable), Ambient: uint64(c.Ambient),
	}
}

func hasNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// hostFiles returns /etc/hostname, /etc/hosts and /etc/resolv.conf for
// the container. With the host's network it sees the host's name service
// files; in a private network namespace there is only loopback, so no
// name server is listed.
func hostFiles(spec *specs.Spec) map[string]string {
	files := map[string]string{"/etc/hostname": spec.Hostname + "\n"}
	if !hasNamespace(spec, specs.NetworkNamespace) {
		for _, f := range []string{"/etc/hosts", "/etc/resolv.conf"} {
			if data, err := os.ReadFile(f); err == nil {
				files[f] = string(data)
			}
		}
		return files
	}
	files["/etc/hosts"] = "127.0.0.1\tlocalhost " + spec.Hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback " + spec.Hostname + "\n"
	files["/etc/resolv.conf"] = "# no network: this container has only loopback\n"
	return files
}

// possibleCPUs lists the host's CPUs, whose thermal_throttle directories
// are masked; nil if unknown.
func possibleCPUs() []int {
	data, err := os.ReadFile("/sys/devices/system/cpu/possible")
	if err != nil {
		return nil
	}
	cpus, _ := policy.ParseCPUList(string(data))
	return cpus
}

// kernelVersion returns the running kernel's version for seccomp rules
// that depend on it; zero if it cannot be read.
func kernelVersion() policy.KernelVersion {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return policy.KernelVersion{}
	}
	release := unix.ByteSliceToString(u.Release[:])
	v, err := policy.ParseKernelVersion(strings.TrimSpace(release))
	if err != nil {
		return policy.KernelVersion{}
	}
	return v
}
