package unitgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/dockah/dockah/internal/imageconfig"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// OptionalMount is a mount option of dockah's own: a bind mount whose
// source may be missing on the host is skipped rather than failing the
// start. activation.OptionalMount is the same string.
const OptionalMount = "x-dockah.optional"

// NoIDMapMount is a mount option of dockah's own: a bind volume of a
// container with a user namespace that is mounted with the host's IDs
// as they are ([[volume]] idmap = false) rather than idmapped onto the
// container's range. activation.NoIDMapMount is the same string.
const NoIDMapMount = "x-dockah.noidmap"

// ChownMount is a mount option of dockah's own: the bind volume's files
// are given to the container's range before it is mounted ([[volume]]
// chown = true). The shim does it (rootfs.Store.ChownVolume) and
// activation ignores the option.
const ChownMount = "x-dockah.chown"

// JournalSyslogSocket is the host journal's syslog socket, bound at
// /dev/log in every container so syslog messages reach the host journal.
const JournalSyslogSocket = "/run/systemd/journal/dev-log"

// specVersion is the runtime-spec version the spec claims: the oldest
// that has every field dockah writes, so that older runtimes (crun 1.8 and
// runc 1.1 of Debian 12 refuse "1.3.0") run the same bundle.
const specVersion = "1.0.2"

// SpecInput is what the runtime spec is built from besides the
// definition; the caller reads it from the host and the image store.
type SpecInput struct {
	// Image is the image's config (entrypoint, cmd, env, user, ...).
	Image imageconfig.Config
	// EnvFiles are the contents of the definition's environment_files,
	// in the same order.
	EnvFiles [][]byte
	// VolumeDir holds named volumes: VOLUMEDIR/NAME/_data.
	VolumeDir string
}

// Spec builds the part of the OCI runtime spec that follows from the
// definition and the image: process, hostname, root, mounts, namespaces
// and resources. The security policy (capabilities, seccomp, masked
// paths, labels) is computed by package policy and added by the shim;
// the user stays a name, resolved inside the image at start.
func Spec(def *Definition, in SpecInput) (*specs.Spec, error) {
	args, err := mergeArgs(def.Container, in.Image)
	if err != nil {
		return nil, err
	}
	env, err := mergeEnv(def.Container, in)
	if err != nil {
		return nil, err
	}
	spec := &specs.Spec{
		Version: specVersion,
		Process: &specs.Process{
			Args:            args,
			Env:             env,
			Cwd:             firstNonEmpty(def.Container.WorkingDir, in.Image.WorkingDir, "/"),
			User:            specs.User{Username: firstNonEmpty(def.Container.User, in.Image.User)},
			NoNewPrivileges: def.Security.NoNewPrivileges,
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: def.Container.ReadOnly},
		Hostname: firstNonEmpty(def.Container.Hostname, hostName(def.Name)),
		Mounts:   append(defaultMounts(), userMounts(def, in.VolumeDir)...),
		Linux: &specs.Linux{
			Namespaces: namespaces(def.Container.Network),
			Resources:  resources(def.Resources),
		},
		Annotations: map[string]string{
			"org.dockah.container": def.Name,
			"org.dockah.image":     def.Container.Image,
		},
	}
	if !path.IsAbs(spec.Process.Cwd) {
		return nil, fmt.Errorf("working directory %q from the image is not an absolute path", spec.Process.Cwd)
	}
	return spec, nil
}

// mergeArgs merges entrypoint and command as Docker does: the
// definition's entrypoint replaces the image's and then also drops the
// image's Cmd; the definition's command replaces the image's Cmd.
func mergeArgs(c Container, image imageconfig.Config) ([]string, error) {
	entrypoint, cmd := image.Entrypoint, image.Cmd
	if c.Entrypoint.Set {
		entrypoint, cmd = c.Entrypoint.Args, nil
	}
	if c.Command.Set {
		cmd = c.Command.Args
	}
	args := append(append([]string{}, entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, errors.New("nothing to run: the image has no Entrypoint or Cmd and the definition sets no container.entrypoint or container.command")
	}
	return args, nil
}

// mergeEnv layers the environment: the image's, then the environment
// files in order, then the definition's; a later value of a name wins.
func mergeEnv(c Container, in SpecInput) ([]string, error) {
	var env orderedEnv
	for _, kv := range in.Image.Env {
		name, value, _ := strings.Cut(kv, "=")
		env.set(name, value)
	}
	for i, data := range in.EnvFiles {
		name := fmt.Sprintf("environment file %d", i+1)
		if i < len(c.EnvironmentFiles) {
			name = c.EnvironmentFiles[i]
		}
		if err := ParseEnvFile(name, data, env.set); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(c.Environment))
	for k := range c.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env.set(k, c.Environment[k])
	}
	return env.list(), nil
}

// ParseEnvFile reads an environment file in Docker's format: KEY=VALUE
// lines taken literally (no quotes or escapes), blank lines and lines
// starting with # skipped. Errors name the file and line.
func ParseEnvFile(name string, data []byte, set func(key, value string)) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimLeft(sc.Text(), " \t")
		if text == "" || text[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \t\x00") {
			return fmt.Errorf("%s:%d: %q is not KEY=VALUE (accepted: KEY=VALUE, blank lines, # comments)", name, line, truncate(text))
		}
		if strings.ContainsRune(value, 0) {
			return fmt.Errorf("%s:%d: the value of %s has a NUL byte", name, line, key)
		}
		set(key, value)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// orderedEnv is an environment that keeps the first position of a name.
type orderedEnv struct {
	keys   []string
	values map[string]string
}

func (e *orderedEnv) set(key, value string) {
	if e.values == nil {
		e.values = map[string]string{}
	}
	if _, ok := e.values[key]; !ok {
		e.keys = append(e.keys, key)
	}
	e.values[key] = value
}

func (e *orderedEnv) list() []string {
	out := make([]string, len(e.keys))
	for i, k := range e.keys {
		out[i] = k + "=" + e.values[k]
	}
	return out
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// hostName makes a host name of a unit name: web@blue becomes web-blue.
func hostName(unit string) string {
	return strings.ReplaceAll(strings.TrimSuffix(unit, "@"), "@", "-")
}

// defaultMounts are the file systems every container gets, fresh: never
// the image's own /proc, /dev or /sys.
func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup2", Options: []string{"nosuid", "noexec", "nodev", "ro", OptionalMount}},
		{Destination: "/dev/log", Type: "bind", Source: JournalSyslogSocket, Options: []string{"bind", OptionalMount}},
	}
}

// tmpfsMode converts a tmpfs mode to the octal tmpfs's mode= takes; 0
// means 01777, like /tmp.
func tmpfsMode(m fs.FileMode) uint32 {
	if m == 0 {
		return 0o1777
	}
	mode := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// userMounts are the definition's tmpfs and volumes, in that order.
func userMounts(def *Definition, volumeDir string) []specs.Mount {
	var mounts []specs.Mount
	for _, t := range def.Tmpfs {
		opts := []string{"nosuid", "nodev", fmt.Sprintf("mode=%04o", tmpfsMode(t.Mode))}
		if t.Size > 0 {
			opts = append(opts, fmt.Sprintf("size=%d", t.Size))
		}
		mounts = append(mounts, specs.Mount{Destination: t.Target, Type: "tmpfs", Source: "tmpfs", Options: opts})
	}
	for _, v := range def.Volumes {
		source := v.Source
		if v.IsNamed() {
			source = path.Join(volumeDir, v.Source, "_data")
		}
		opts := []string{"rbind", "nosuid", "nodev"}
		if v.ReadOnly {
			opts = append(opts, "ro")
		}
		if v.Chown {
			// The files are the range's on disk: mounted as they are.
			opts = append(opts, ChownMount, NoIDMapMount)
		} else if v.HostIDs {
			opts = append(opts, NoIDMapMount)
		}
		mounts = append(mounts, specs.Mount{Destination: v.Target, Type: "bind", Source: source, Options: opts})
	}
	return mounts
}

// namespaces are the container's namespaces: all of them private, the
// network too unless the definition asks for the host's.
func namespaces(network string) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
		{Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
	}
	if network != NetworkHost {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	return ns
}

// resources mirrors the definition's limits into the spec. systemd
// enforces them on the service's cgroup; they are here so that the same
// bundle run by crun or runc is limited alike.
func resources(r Resources) *specs.LinuxResources {
	var res specs.LinuxResources
	if r.MemoryMax != 0 && r.MemoryMax != Unlimited {
		limit := int64(r.MemoryMax)
		res.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	if r.TasksMax != 0 && r.TasksMax != Unlimited {
		limit := int64(r.TasksMax)
		res.Pids = &specs.LinuxPids{Limit: &limit}
	}
	if r.CPUQuota != 0 {
		period := uint64(100000)
		quota := int64(r.CPUQuota) * 1000
		res.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if res.Memory == nil && res.Pids == nil && res.CPU == nil {
		return nil
	}
	return &res
}
