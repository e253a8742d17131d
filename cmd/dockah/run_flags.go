package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"

	"github.com/dockah/dockah/unitgen"
)

// runOptions are the flags of dockah run, spelled and meant as docker run
// and podman run spell and mean them. Each becomes a key of the run's
// definition, so that a run container is set up exactly as a defined one
// and a flag dockah cannot honour is an error, never ignored.
type runOptions struct {
	name        string
	remove      bool
	detach      bool
	interactive bool
	tty         bool
	pull        string
	publish     []string
	env         []string
	envFiles    []string
	entrypoint  *string // nil: the image's; "": none
	volumes     []string
	tmpfs       []string
	user        string
	workdir     string
	readOnly    bool
	init        bool
	hostname    string
	labels      []string
	memory      string
	cpus        string
	pidsLimit   string
	capAdd      []string
	capDrop     []string
	securityOpt []string
	userns      string
	network     string
	stopSignal  string
	stopTimeout string
	restart     string
	registry    registryFlags
}

// optionalString is a flag whose absence differs from an empty value, as
// --entrypoint "" (no entrypoint) differs from no --entrypoint.
type optionalString struct{ p **string }

func (o optionalString) String() string {
	if *o.p == nil {
		return ""
	}
	return **o.p
}
func (o optionalString) Set(s string) error { *o.p = &s; return nil }
func (o optionalString) Type() string       { return "string" }

func (o *runOptions) addFlags(fl *pflag.FlagSet) {
	fl.StringVar(&o.name, "name", "", "container name (default: run-RANDOM)")
	fl.BoolVar(&o.remove, "rm", false, "remove the container (definition and writable layer) when it exits")
	fl.BoolVarP(&o.detach, "detach", "d", false, "start the container and print its name; its output goes to the journal")
	fl.BoolVarP(&o.interactive, "interactive", "i", false, "connect standard input")
	fl.BoolVarP(&o.tty, "tty", "t", false, "give the container a terminal (with -i: yours, in raw mode)")
	fl.StringVar(&o.pull, "pull", "missing", "pull the image before running: always, missing, newer or never")
	fl.StringArrayVarP(&o.publish, "publish", "p", nil, "listen on HOST and forward to the container's port CONTAINER (HOST:CONTAINER)")
	fl.StringArrayVarP(&o.env, "env", "e", nil, "set an environment variable (NAME=VALUE, or NAME to pass on this shell's value)")
	fl.StringArrayVar(&o.envFiles, "env-file", nil, "read environment variables from a file of NAME=VALUE lines")
	fl.Var(optionalString{&o.entrypoint}, "entrypoint", `replace the image's entrypoint: a program, or a JSON array ("" for none)`)
	fl.StringArrayVarP(&o.volumes, "volume", "v", nil, "mount a host path or a named volume: SOURCE:TARGET[:ro|rw][,z|Z][,noidmap]")
	fl.StringArrayVar(&o.tmpfs, "tmpfs", nil, "mount a tmpfs: TARGET[:size=SIZE,mode=MODE]")
	fl.StringVarP(&o.user, "user", "u", "", "run as USER[:GROUP] (names or numbers, resolved in the image)")
	fl.StringVarP(&o.workdir, "workdir", "w", "", "working directory in the container")
	fl.BoolVar(&o.readOnly, "read-only", false, "mount the container's root filesystem read-only")
	fl.BoolVar(&o.init, "init", false, "run a tiny init as pid 1 that reaps zombies and forwards signals")
	fl.StringVar(&o.hostname, "hostname", "", "the container's host name (default: its name)")
	fl.StringArrayVarP(&o.labels, "label", "l", nil, "set a label on the container (NAME=VALUE)")
	fl.StringVarP(&o.memory, "memory", "m", "", "memory limit (bytes, or with b, k, m, g suffix)")
	fl.StringVar(&o.cpus, "cpus", "", "CPUs the container may use, e.g. 1.5")
	fl.StringVar(&o.pidsLimit, "pids-limit", "", "most processes and threads (-1: no limit)")
	fl.StringSliceVar(&o.capAdd, "cap-add", nil, "add capabilities (NET_ADMIN, CAP_SYS_TIME, ALL)")
	fl.StringSliceVar(&o.capDrop, "cap-drop", nil, "drop capabilities")
	fl.StringArrayVar(&o.securityOpt, "security-opt", nil, "seccomp=unconfined|PROFILE.json, no-new-privileges[=true|false]")
	fl.StringVar(&o.userns, "userns", "", `user namespace: "auto" (a range of host IDs of its own, the default) or "host" (the host's IDs)`)
	fl.StringVar(&o.network, "network", "", "none (loopback only, the default) or host")
	fl.StringVar(&o.stopSignal, "stop-signal", "", "signal that stops the container (default SIGTERM)")
	fl.StringVar(&o.stopTimeout, "stop-timeout", "", "seconds to wait after the stop signal before killing (default 10)")
	fl.StringVar(&o.restart, "restart", "", "restart the container when it ends: no, on-failure, always or unless-stopped (systemd's Restart=)")
	fl.Lookup("network").NoOptDefVal = ""
}

// runDefinition is the TOML definition of a run container.
type runDefinition struct {
	Container runContainerTable `toml:"container"`
	Socket    []runSocket       `toml:"socket,omitempty"`
	Volume    []runVolume       `toml:"volume,omitempty"`
	Tmpfs     []runTmpfs        `toml:"tmpfs,omitempty"`
	Resources map[string]any    `toml:"resources,omitempty"`
	Security  map[string]any    `toml:"security,omitempty"`
	Service   map[string]any    `toml:"service,omitempty"`
}

type runContainerTable struct {
	Image       string            `toml:"image"`
	Pull        string            `toml:"pull"`
	Entrypoint  *[]string         `toml:"entrypoint,omitempty"`
	Command     []string          `toml:"command,omitempty"`
	Environment map[string]string `toml:"environment,omitempty"`
	WorkingDir  string            `toml:"working_dir,omitempty"`
	User        string            `toml:"user,omitempty"`
	Hostname    string            `toml:"hostname,omitempty"`
	ReadOnly    bool              `toml:"read_only,omitempty"`
	Ephemeral   bool              `toml:"ephemeral,omitempty"`
	Network     string            `toml:"network,omitempty"`
	Init        bool              `toml:"init,omitempty"`
	Labels      map[string]string `toml:"labels,omitempty"`
}

type runSocket struct {
	Listen string `toml:"listen"`
	Port   int    `toml:"port"`
}

type runVolume struct {
	Source   string `toml:"source"`
	Target   string `toml:"target"`
	ReadOnly bool   `toml:"read_only,omitempty"`
	Relabel  string `toml:"relabel,omitempty"`
	IDMap    *bool  `toml:"idmap,omitempty"`
	Chown    bool   `toml:"chown,omitempty"`
}

type runTmpfs struct {
	Target string `toml:"target"`
	Size   string `toml:"size,omitempty"`
	Mode   string `toml:"mode,omitempty"`
}

// runEnv is what the flags read from outside themselves: the caller's
// environment (-e NAME) and files (--env-file), and the working directory
// relative volume sources are taken from.
type runEnv struct {
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
	cwd       string
}

func hostRunEnv() runEnv {
	cwd, _ := os.Getwd()
	return runEnv{lookupEnv: os.LookupEnv, readFile: os.ReadFile, cwd: cwd}
}

// buildRunDefinition writes the definition of a run as TOML. It is
// checked by the same loader as any definition before anything starts.
func buildRunDefinition(o runOptions, image string, command []string, env runEnv) ([]byte, error) {
	c := runContainerTable{
		// dockah run pulls before it starts (--pull); the unit never does.
		Pull:  string(unitgen.PullNever),
		Image: image, Command: command, Ephemeral: o.remove, User: o.user, WorkingDir: o.workdir,
		Hostname: o.hostname, ReadOnly: o.readOnly, Init: o.init,
	}
	def := runDefinition{Resources: map[string]any{}, Security: map[string]any{}, Service: map[string]any{}}
	var err error
	if c.Entrypoint, err = entrypointFlag(o.entrypoint); err != nil {
		return nil, err
	}
	if c.Environment, err = environmentFlags(o.envFiles, o.env, env); err != nil {
		return nil, err
	}
	if c.Labels, err = labelFlags(o.labels); err != nil {
		return nil, err
	}
	if c.Network, err = networkFlag(o.network); err != nil {
		return nil, err
	}
	for _, p := range o.publish {
		s, err := publishFlag(p)
		if err != nil {
			return nil, err
		}
		def.Socket = append(def.Socket, s)
	}
	for _, v := range o.volumes {
		vol, err := volumeFlag(v, env.cwd)
		if err != nil {
			return nil, err
		}
		def.Volume = append(def.Volume, vol)
	}
	for _, t := range o.tmpfs {
		tmp, err := tmpfsFlag(t)
		if err != nil {
			return nil, err
		}
		def.Tmpfs = append(def.Tmpfs, tmp)
	}
	if err := resourceFlags(o, def.Resources); err != nil {
		return nil, err
	}
	if err := securityFlags(o, def.Security); err != nil {
		return nil, err
	}
	if o.stopSignal != "" {
		def.Service["stop_signal"] = o.stopSignal
	}
	if err := restartFlag(o, def.Service); err != nil {
		return nil, err
	}
	if o.stopTimeout != "" {
		n, err := strconv.Atoi(o.stopTimeout)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("--stop-timeout %q: want a number of seconds (-1: wait forever)", o.stopTimeout)
		}
		def.Service["stop_timeout"] = (time.Duration(n) * time.Second).String()
		if n == -1 {
			def.Service["stop_timeout"] = "infinity"
		}
	}
	def.Container = c
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(def); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// restartFlag maps docker's restart policies onto systemd's Restart=. A
// stop by systemctl or dockah stop never restarts a unit, which is what
// unless-stopped means; "always" is the same policy for the same reason.
func restartFlag(o runOptions, service map[string]any) error {
	policy, _, hasMax := strings.Cut(o.restart, ":")
	switch {
	case o.restart == "" || o.restart == "no":
		return nil
	case hasMax:
		return fmt.Errorf("--restart %s: a count of retries is not supported (systemd's start limit applies: StartLimitBurst=)", o.restart)
	case o.remove:
		return fmt.Errorf("--restart %s and --rm: a container removed when it ends cannot restart", o.restart)
	}
	switch policy {
	case "on-failure":
		service["restart"] = "on-failure"
	case "always", "unless-stopped":
		service["restart"] = "always"
	default:
		return fmt.Errorf("--restart %q: accepted: no, on-failure, always, unless-stopped", o.restart)
	}
	return nil
}

// entrypointFlag: --entrypoint PROGRAM is one word, never split (as
// docker's); a JSON array is several (as podman's); "" clears it.
func entrypointFlag(e *string) (*[]string, error) {
	if e == nil {
		return nil, nil
	}
	args := []string{}
	switch {
	case *e == "":
	case strings.HasPrefix(*e, "["):
		if err := json.Unmarshal([]byte(*e), &args); err != nil {
			return nil, fmt.Errorf("--entrypoint %q: a JSON array of strings: %w", *e, err)
		}
	default:
		args = []string{*e}
	}
	return &args, nil
}

// environmentFlags: the files first, in order, then -e, each overriding
// what came before. -e NAME passes on the caller's value, and is left out
// when the caller has none, as docker does.
func environmentFlags(files, flags []string, env runEnv) (map[string]string, error) {
	vars := map[string]string{}
	for _, f := range files {
		data, err := env.readFile(f)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		if err := unitgen.ParseEnvFile(f, data, func(k, v string) { vars[k] = v }); err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
	}
	for _, kv := range flags {
		name, value, ok := strings.Cut(kv, "=")
		if name == "" || strings.ContainsAny(name, " \t\n") {
			return nil, fmt.Errorf("-e %q: want NAME=VALUE or NAME", kv)
		}
		if !ok {
			if value, ok = env.lookupEnv(name); !ok {
				continue
			}
		}
		vars[name] = value
	}
	if len(vars) == 0 {
		return nil, nil
	}
	return vars, nil
}

func labelFlags(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	labels := map[string]string{}
	for _, kv := range flags {
		name, value, _ := strings.Cut(kv, "=")
		if name == "" {
			return nil, fmt.Errorf("--label %q: want NAME=VALUE", kv)
		}
		labels[name] = value
	}
	return labels, nil
}

// networkFlag: none, host, or the name of a network (docker's "bridge"
// and podman's "podman" are dockah's default network, "dockah").
func networkFlag(n string) (string, error) {
	switch n {
	case "", "none", "host":
		return n, nil
	case "bridge", "default", "podman":
		return "dockah", nil
	case "private", "slirp4netns", "pasta":
		return "", fmt.Errorf("--network %s: accepted: none (loopback only; -p publishes ports), host, or a network name (dockah network ls)", n)
	}
	if strings.HasPrefix(n, "container:") || strings.HasPrefix(n, "ns:") {
		return "", fmt.Errorf("--network %s: joining another namespace is not supported; accepted: none, host or a network name", n)
	}
	return n, nil
}

func publishFlag(p string) (runSocket, error) {
	if strings.HasSuffix(p, "/udp") || strings.HasSuffix(p, "/sctp") {
		return runSocket{}, fmt.Errorf("-p %q: only TCP ports are forwarded; accepted: HOST:CONTAINER[/tcp]", p)
	}
	p = strings.TrimSuffix(p, "/tcp")
	i := strings.LastIndexByte(p, ':')
	if i <= 0 {
		return runSocket{}, fmt.Errorf("-p %q: want HOST:CONTAINER, HOST being PORT, ADDR:PORT or [ADDR]:PORT (dockah does not pick a random host port)", p)
	}
	port, err := strconv.Atoi(p[i+1:])
	if err != nil || port < 1 || port > 65535 {
		return runSocket{}, fmt.Errorf("-p %q: the container port %q is not a port number (1-65535)", p, p[i+1:])
	}
	return runSocket{Listen: p[:i], Port: port}, nil
}

// volumeFlag parses -v SOURCE:TARGET[:OPTIONS]. A SOURCE that starts with
// "/" is a host path, with "." a path relative to cwd, anything else the
// name of a named volume; OPTIONS are ro, rw, z and Z, comma-separated.
func volumeFlag(v, cwd string) (runVolume, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return runVolume{}, fmt.Errorf("-v %q: want SOURCE:TARGET[:OPTIONS], SOURCE a host path or a volume name (anonymous volumes are not supported: name one)", v)
	}
	vol := runVolume{Source: parts[0], Target: parts[1]}
	if strings.HasPrefix(vol.Source, ".") {
		vol.Source = filepath.Join(cwd, vol.Source)
	}
	if len(parts) == 3 {
		for _, opt := range strings.Split(parts[2], ",") {
			switch opt {
			case "ro":
				vol.ReadOnly = true
			case "rw":
				vol.ReadOnly = false
			case "z":
				vol.Relabel = unitgen.RelabelShared
			case "Z":
				vol.Relabel = unitgen.RelabelPrivate
			case "noidmap":
				// With --userns auto: the host's IDs as they are.
				no := false
				vol.IDMap = &no
			case "chown":
				// Its files given to the container's range once.
				vol.Chown = true
			default:
				return runVolume{}, fmt.Errorf("-v %q: option %q is not supported; accepted: ro, rw, z, Z, noidmap, chown", v, opt)
			}
		}
	}
	return vol, nil
}

// tmpfsFlag parses --tmpfs TARGET[:OPTIONS]. Every tmpfs is nosuid and
// nodev; size= and mode= are taken; noexec is not, since dockah cannot
// honour it.
func tmpfsFlag(t string) (runTmpfs, error) {
	target, opts, _ := strings.Cut(t, ":")
	tmp := runTmpfs{Target: target}
	if opts == "" {
		return tmp, nil
	}
	for _, opt := range strings.Split(opts, ",") {
		key, value, _ := strings.Cut(opt, "=")
		switch key {
		case "rw", "nosuid", "nodev", "exec":
		case "size":
			n, err := parseDockerSize(value)
			if err != nil {
				return runTmpfs{}, fmt.Errorf("--tmpfs %q: size: %w", t, err)
			}
			tmp.Size = strconv.FormatUint(n, 10)
		case "mode":
			if _, err := strconv.ParseUint(value, 8, 32); err != nil {
				return runTmpfs{}, fmt.Errorf("--tmpfs %q: mode %q is not octal", t, value)
			}
			tmp.Mode = value
		default:
			return runTmpfs{}, fmt.Errorf("--tmpfs %q: option %q is not supported; accepted: size=SIZE, mode=OCTAL, rw, exec, nosuid, nodev", t, opt)
		}
	}
	return tmp, nil
}

// parseDockerSize reads a size as docker's -m does: a number with an
// optional unit b, k, m, g, t (powers of 1024), any case, an optional
// trailing "b" ("512mb").
func parseDockerSize(s string) (uint64, error) {
	lower := strings.ToLower(strings.TrimSpace(s))
	num := strings.TrimRight(lower, "bkmgtp")
	unit := strings.TrimSuffix(lower[len(num):], "b")
	if lower[len(num):] == "b" {
		unit = ""
	}
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50}
	sh, ok := shift[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f <= 0 || math.IsInf(f, 0) || f*float64(uint64(1)<<sh) >= math.MaxUint64/2 {
		return 0, fmt.Errorf("%q is not a size: want a number with an optional unit b, k, m or g", s)
	}
	return uint64(f * float64(uint64(1)<<sh)), nil
}

func resourceFlags(o runOptions, res map[string]any) error {
	if o.memory != "" {
		n, err := parseDockerSize(o.memory)
		if err != nil {
			return fmt.Errorf("--memory: %w", err)
		}
		if n < 6<<20 {
			return fmt.Errorf("--memory %s: the smallest limit is 6m", o.memory)
		}
		res["memory_max"] = int64(n)
	}
	if o.cpus != "" {
		f, err := strconv.ParseFloat(o.cpus, 64)
		if err != nil || f < 0.01 || f > 10000 {
			return fmt.Errorf("--cpus %q: want a number of CPUs from 0.01, e.g. 1.5", o.cpus)
		}
		res["cpu_quota"] = fmt.Sprintf("%d%%", int(math.Round(f*100)))
	}
	if o.pidsLimit != "" {
		n, err := strconv.ParseInt(o.pidsLimit, 10, 64)
		switch {
		case err != nil || n < -1:
			return fmt.Errorf("--pids-limit %q: want a number (-1 or 0: no limit)", o.pidsLimit)
		case n <= 0:
			res["tasks_max"] = "infinity"
		default:
			res["tasks_max"] = n
		}
	}
	return nil
}

func securityFlags(o runOptions, sec map[string]any) error {
	switch o.userns {
	case "":
	case unitgen.UserNSAuto, unitgen.UserNSHost:
		sec["userns"] = o.userns
	default:
		return fmt.Errorf("--userns %q: want auto or host", o.userns)
	}
	if len(o.capAdd) > 0 {
		sec["capabilities_add"] = o.capAdd
	}
	if len(o.capDrop) > 0 {
		sec["capabilities_drop"] = o.capDrop
	}
	for _, opt := range o.securityOpt {
		key, value, hasValue := strings.Cut(opt, "=")
		if !hasValue {
			key, value, hasValue = strings.Cut(opt, ":")
		}
		switch key {
		case "seccomp":
			switch {
			case value == "unconfined":
				sec["seccomp"] = unitgen.SeccompUnconfined
			case value != "" && filepath.IsAbs(value):
				sec["seccomp"] = value
			case value != "":
				abs, err := filepath.Abs(value)
				if err != nil {
					return fmt.Errorf("--security-opt %s: %w", opt, err)
				}
				sec["seccomp"] = abs
			default:
				return fmt.Errorf("--security-opt %q: want seccomp=unconfined or seccomp=PROFILE.json", opt)
			}
		case "no-new-privileges":
			b := true
			if hasValue {
				var err error
				if b, err = strconv.ParseBool(value); err != nil {
					return fmt.Errorf("--security-opt %q: want no-new-privileges, no-new-privileges=true or =false", opt)
				}
			}
			sec["no_new_privileges"] = b
		case "label":
			return fmt.Errorf("--security-opt %q: SELinux labels are set in a definition ([security] selinux_type, selinux_level); dockah run does not take them", opt)
		case "apparmor":
			return fmt.Errorf("--security-opt %q: dockah confines containers with SELinux, seccomp and capabilities, not AppArmor", opt)
		default:
			return fmt.Errorf("--security-opt %q is not supported; accepted: seccomp=unconfined, seccomp=PROFILE.json, no-new-privileges[=true|false]", opt)
		}
	}
	return nil
}
