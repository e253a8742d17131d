package kube

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/dockah/dockah/unitgen"
)

// defBuilder builds the definition of one container of a Pod.
type defBuilder struct {
	*player
	pod   *pod
	c     *Container
	name  string
	dir   string
	multi bool
	ann   map[string]string
	where string

	container map[string]any
	resources map[string]any
	security  map[string]any
	service   map[string]any
	sockets   []map[string]any
	volumes   []map[string]any
	tmpfs     []map[string]any
	systemd   map[string]any
	secretEnv []string // KEY=VALUE lines of the environment file
}

func (b *defBuilder) warn(msg string) { b.player.warn(b.where, msg) }

func (b *defBuilder) build() (PlannedContainer, error) {
	b.container = map[string]any{"image": b.c.Image, "hostname": cmpOr(b.pod.spec.Hostname, b.pod.name)}
	b.resources, b.security, b.service, b.systemd = map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}
	switch b.c.ImagePullPolicy {
	case "Always":
		b.container["pull"] = string(unitgen.PullAlways)
	case "Never":
		b.container["pull"] = string(unitgen.PullNever)
	case "", "IfNotPresent":
	default:
		return PlannedContainer{}, fmt.Errorf("imagePullPolicy %q (accepted: Always, IfNotPresent, Never)", b.c.ImagePullPolicy)
	}
	if b.c.Command != nil {
		b.container["entrypoint"] = b.c.Command
	}
	if b.c.Args != nil {
		b.container["command"] = b.c.Args
	}
	if b.c.WorkingDir != "" {
		b.container["working_dir"] = b.c.WorkingDir
	}
	if b.c.Stdin || b.c.TTY {
		b.warn("stdin, tty: a service has no terminal; its output goes to the journal")
	}
	labels := map[string]string{PodLabel: b.pod.name}
	for k, v := range b.pod.labels {
		labels[k] = v
	}
	b.container["labels"] = labels
	b.network()
	steps := []func() error{b.environment, b.ports, b.mounts, b.limits, b.securityContext, b.probes, b.lifecycle, b.annotations}
	for _, step := range steps {
		if err := step(); err != nil {
			return PlannedContainer{}, err
		}
	}
	return b.encode()
}

// network puts the containers of a Pod on the Pod's network, each known
// by its container name.
func (b *defBuilder) network() {
	switch {
	case b.multi:
		b.container["network"] = b.pod.name
		b.container["aliases"] = []string{b.c.Name}
	case b.pod.spec.HostNetwork:
		b.container["network"] = unitgen.NetworkHost
	}
	for _, h := range b.pod.spec.HostAliases {
		if h.IP != "127.0.0.1" || !b.multi {
			b.warn(fmt.Sprintf("hostAliases %s: not written to the container's /etc/hosts", h.IP))
		}
	}
}

// ports adds the sockets of the Services, and of hostPorts.
func (b *defBuilder) ports() error {
	b.sockets = append(b.sockets, b.pod.sockets[b.c.Name]...)
	for _, p := range b.c.Ports {
		if p.HostPort == 0 {
			continue
		}
		listen := fmt.Sprint(p.HostPort)
		if p.HostIP != "" {
			listen = p.HostIP + ":" + listen
			if strings.Contains(p.HostIP, ":") {
				listen = "[" + p.HostIP + "]:" + fmt.Sprint(p.HostPort)
			}
		}
		s := map[string]any{"listen": listen, "port": int64(p.ContainerPort)}
		if p.Protocol == "UDP" {
			s["type"] = unitgen.SocketDatagram
		}
		b.sockets = append(b.sockets, s)
	}
	return nil
}

// limits maps resources.limits.
func (b *defBuilder) limits() error {
	r := b.c.Resources
	if r == nil {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(r.Limits)) {
		q := r.Limits[k]
		switch k {
		case "memory":
			n, err := q.bytes()
			if err != nil {
				return fmt.Errorf("resources.limits.memory: %w", err)
			}
			b.resources["memory_max"] = int64(n)
		case "cpu":
			p, err := q.cpuPercent()
			if err != nil {
				return fmt.Errorf("resources.limits.cpu: %w", err)
			}
			b.resources["cpu_quota"] = fmt.Sprintf("%d%%", p)
		default:
			b.warn(fmt.Sprintf("resources.limits.%s: not a limit of one host, ignored", k))
		}
	}
	if len(r.Requests) > 0 {
		b.warn("resources.requests: a scheduler's reservation, ignored (limits are enforced)")
	}
	return nil
}

// securityContext maps the Pod's and the container's security settings.
func (b *defBuilder) securityContext() error {
	ps := b.pod.spec.SecurityContext
	if ps == nil {
		ps = &PodSecurityContext{}
	}
	sc := b.c.SecurityContext
	if sc == nil {
		sc = &SecurityContext{}
	}
	user, group := firstInt(sc.RunAsUser, ps.RunAsUser), firstInt(sc.RunAsGroup, ps.RunAsGroup)
	switch {
	case user != nil && group != nil:
		b.container["user"] = fmt.Sprintf("%d:%d", *user, *group)
	case user != nil:
		b.container["user"] = strconv.FormatInt(*user, 10)
	case group != nil:
		b.warn("runAsGroup without runAsUser: the image's user keeps its group")
	}
	if (isTrue(sc.RunAsNonRoot) || isTrue(ps.RunAsNonRoot)) && (user == nil || *user == 0) {
		if user != nil {
			return fmt.Errorf("runAsNonRoot with runAsUser 0")
		}
		b.warn("runAsNonRoot: not checked against the image's user (give runAsUser)")
	}
	if isTrue(sc.ReadOnlyRootFilesystem) {
		b.container["read_only"] = true
	}
	if sc.AllowPrivilegeEscalation != nil {
		b.security["no_new_privileges"] = !*sc.AllowPrivilegeEscalation
	}
	if c := sc.Capabilities; c != nil {
		if len(c.Add) > 0 {
			b.security["capabilities_add"] = capsOf(c.Add)
		}
		if len(c.Drop) > 0 {
			b.security["capabilities_drop"] = capsOf(c.Drop)
		}
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = ps.SeccompProfile
	}
	if seccomp != nil {
		switch seccomp.Type {
		case "RuntimeDefault":
			b.security["seccomp"] = unitgen.SeccompDefault
		case "Unconfined":
			b.security["seccomp"] = unitgen.SeccompUnconfined
		case "Localhost":
			if p, ok := b.ann["seccomp"]; ok {
				b.security["seccomp"] = p
			} else {
				b.warn(fmt.Sprintf("seccompProfile Localhost %s: a file of a node; dockah's default filter applies (give a path in annotation %sseccomp)", seccomp.LocalhostProfile, AnnotationPrefix))
			}
		default:
			return fmt.Errorf("seccompProfile.type %q (accepted: RuntimeDefault, Unconfined, Localhost)", seccomp.Type)
		}
	}
	se := sc.SELinuxOptions
	if se == nil {
		se = ps.SELinuxOptions
	}
	if se != nil {
		if se.Type != "" {
			b.security["selinux_type"] = se.Type
		}
		if se.Level != "" {
			b.security["selinux_level"] = se.Level
		}
		if se.User != "" || se.Role != "" {
			b.warn("seLinuxOptions user and role: dockah sets the type and level only")
		}
	}
	return nil
}

func firstInt(a, b *int64) *int64 {
	if a != nil {
		return a
	}
	return b
}

// capsOf names capabilities as definitions do: CAP_ and upper case.
func capsOf(caps []string) []string {
	var out []string
	for _, c := range caps {
		c = strings.ToUpper(c)
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	return out
}

// probes: a TCP readiness probe is what dockah's forwarder does anyway
// (it forwards once the application listens); the others are reported.
func (b *defBuilder) probes() error {
	if p := b.c.ReadinessProbe; p != nil && p.TCPSocket == nil {
		b.warn("readinessProbe: only tcpSocket has an equivalent (dockah forwards once the application listens); ignored")
	}
	if b.c.LivenessProbe != nil {
		b.warn("livenessProbe: not run; systemd restarts the container when it exits (restartPolicy)")
	}
	if b.c.StartupProbe != nil {
		b.warn("startupProbe: not run")
	}
	return nil
}

// lifecycle maps restartPolicy, the grace period and start at boot.
func (b *defBuilder) lifecycle() error {
	switch b.pod.spec.RestartPolicy {
	case "", "Always":
		b.service["restart"] = "always"
	case "OnFailure":
		b.service["restart"] = "on-failure"
	}
	if g := b.pod.spec.TerminationGracePeriodSeconds; g != nil && *g > 0 {
		b.service["stop_timeout"] = fmt.Sprintf("%ds", *g)
	}
	if b.opts.Persist {
		b.service["wanted_by"] = []string{"multi-user.target"}
	}
	return nil
}

// encode writes the definition and loads it as the generator will.
func (b *defBuilder) encode() (PlannedContainer, error) {
	def := map[string]any{"container": b.container}
	for name, t := range map[string]map[string]any{"resources": b.resources, "security": b.security, "service": b.service, "systemd": b.systemd} {
		if len(t) > 0 {
			def[name] = t
		}
	}
	for name, list := range map[string][]map[string]any{"socket": b.sockets, "volume": b.volumes, "tmpfs": b.tmpfs} {
		if len(list) > 0 {
			def[name] = list
		}
	}
	header := fmt.Sprintf("# Written by dockah kube play: container %s of %s.\n# Change the manifest and play it again (--replace) rather than this file.\n\n", b.c.Name, b.pod.where)
	data, err := encodeDefinition(header, def)
	if err != nil {
		return PlannedContainer{}, fmt.Errorf("write definition: %w", err)
	}
	p := path.Join(b.opts.ContainersDir, b.name+".toml")
	d, err := unitgen.Parse(b.name, unitgen.File{Path: p, Data: data})
	if err != nil {
		return PlannedContainer{}, fmt.Errorf("definition %s: %w", b.name, err)
	}
	return PlannedContainer{Pod: b.pod.name, Name: b.name, Path: p, Data: data, Def: d}, nil
}
