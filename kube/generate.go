package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"sigs.k8s.io/yaml"

	"github.com/dockah/dockah/unitgen"
)

// Object types of Generate.
const (
	TypePod        = "pod"
	TypeDeployment = "deployment"
)

// AnnotationPrefix starts the annotations that keep what a cluster has
// no field for.
const AnnotationPrefix = "dockah.io/"

// Options say what Generate makes.
type Options struct {
	// Type is TypePod (default) or TypeDeployment.
	Type string
	// Service adds a Service per Pod whose ports are the listen ports of
	// the definitions' sockets.
	Service bool
	// StoredName, when set, returns the full name under which the image
	// store holds an image ("localhost/app:1" for an imported one), or
	// "" when it does not hold it; the name is then normalized as a
	// registry name (docker.io/library/app:1).
	StoredName func(image string) string
}

// Generate turns definitions into Kubernetes objects, as one YAML stream.
//
// Definitions on one network become one Pod (named after the network),
// so that they keep reaching each other: their names and aliases are
// hostAliases of 127.0.0.1, as containers of a Pod share localhost. Any
// other definition is a Pod of its own. With TypeDeployment each Pod is
// the template of a Deployment of one replica. Named volumes become
// PersistentVolumeClaims, listed first. What has no Kubernetes field is
// kept in annotations (AnnotationPrefix) and returned as warnings.
func Generate(defs []*unitgen.Definition, opts Options) ([]byte, []Warning, error) {
	switch opts.Type {
	case "", TypePod, TypeDeployment:
	default:
		return nil, nil, fmt.Errorf("type %q (accepted: pod, deployment)", opts.Type)
	}
	groups := map[string][]*unitgen.Definition{}
	for _, d := range defs {
		if d.IsTemplate() {
			return nil, nil, fmt.Errorf("%s: a template: name an instance (%s%s)", d.Name, d.Name, cmpOr(d.Service.DefaultInstance, "NAME"))
		}
		key := d.Name
		if d.Container.JoinsNetworks() {
			key = d.Container.Networks[0]
		}
		groups[key] = append(groups[key], d)
	}
	g := &generator{opts: opts, claims: map[string]bool{}}
	var objects []any
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		members := groups[key]
		slices.SortFunc(members, func(a, b *unitgen.Definition) int { return strings.Compare(a.Name, b.Name) })
		objs, err := g.pod(labelOf(key), members)
		if err != nil {
			return nil, nil, err
		}
		objects = append(objects, objs...)
	}
	var claims []any
	for _, name := range slices.Sorted(maps.Keys(g.claims)) {
		claims = append(claims, claimObject(name))
	}
	var out bytes.Buffer
	for i, o := range append(claims, objects...) {
		y, err := yaml.Marshal(o)
		if err != nil {
			return nil, nil, fmt.Errorf("write YAML: %w", err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(y)
	}
	return out.Bytes(), g.warnings, nil
}

func cmpOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// generator keeps what spans the Pods: the claims and the warnings.
type generator struct {
	opts     Options
	claims   map[string]bool
	warnings []Warning
}

// podBuilder builds one Pod.
type podBuilder struct {
	*generator
	name        string
	single      bool
	spec        PodSpec
	annotations map[string]string
	volumes     map[string]bool // pod volume names taken
	ports       []ServicePort
	listen      map[string]string // service annotations: listen addresses
	aliases     []string
	restart     []string
	grace       int64
}

// annotate keeps a setting of container c with no Kubernetes field.
func (p *podBuilder) annotate(c, key, value, why string) {
	k := AnnotationPrefix + key
	if !p.single {
		k = AnnotationPrefix + c + "." + key
	}
	p.annotations[k] = value
	p.warnings = append(p.warnings, Warning{c, fmt.Sprintf("%s: %s: kept as annotation %s", key, why, k)})
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (g *generator) pod(name string, defs []*unitgen.Definition) ([]any, error) {
	p := &podBuilder{generator: g, name: name, single: len(defs) == 1, annotations: map[string]string{},
		volumes: map[string]bool{}, listen: map[string]string{}}
	ports := map[string]string{}
	for _, d := range defs {
		c, err := p.container(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		// The containers of a Pod share its network namespace.
		for _, cp := range c.Ports {
			key := fmt.Sprintf("%s/%d", cp.Protocol, cp.ContainerPort)
			if other, taken := ports[key]; taken {
				return nil, fmt.Errorf("%s and %s both listen on port %s: in one Pod they share one network namespace (change a port, or put one on another network)", other, d.Name, key)
			}
			ports[key] = d.Name
		}
		p.spec.Containers = append(p.spec.Containers, c)
	}
	p.podSettings()
	labels := map[string]string{"app": name}
	meta := ObjectMeta{Name: name, Labels: labels, Annotations: nilIfEmpty(p.annotations)}
	var objs []any
	if g.opts.Type == TypeDeployment {
		replicas := int32(1)
		objs = append(objs, Deployment{
			TypeMeta: TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			Metadata: ObjectMeta{Name: name, Labels: labels},
			Spec: DeploymentSpec{Replicas: &replicas, Selector: &LabelSelector{MatchLabels: labels},
				Template: PodTemplateSpec{Metadata: meta, Spec: p.spec}},
		})
	} else {
		objs = append(objs, Pod{TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Pod"}, Metadata: meta, Spec: p.spec})
	}
	if g.opts.Service && len(p.ports) > 0 {
		if len(p.ports) > 1 {
			for i := range p.ports {
				if p.ports[i].Name == "" {
					p.ports[i].Name = fmt.Sprintf("port-%d", p.ports[i].Port)
				}
			}
		}
		objs = append(objs, Service{
			TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Service"},
			Metadata: ObjectMeta{Name: name, Labels: labels, Annotations: nilIfEmpty(p.listen)},
			Spec:     ServiceSpec{Selector: labels, Ports: p.ports},
		})
	}
	return objs, nil
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// podSettings sets what the containers' definitions say for the Pod.
func (p *podBuilder) podSettings() {
	policy := map[string]string{"": "Never", "no": "Never", "always": "Always", "on-failure": "OnFailure"}
	first := ""
	if len(p.restart) > 0 {
		first = p.restart[0]
	}
	p.spec.RestartPolicy = cmpOr(policy[first], "OnFailure")
	if p.opts.Type == TypeDeployment {
		// A Deployment's Pods always restart.
		p.spec.RestartPolicy = "Always"
	}
	for i, r := range p.restart {
		c := p.spec.Containers[i].Name
		if k, ok := policy[r]; !ok || k != p.spec.RestartPolicy {
			p.annotate(c, "restart", cmpOr(r, "no"), fmt.Sprintf("the Pod's restartPolicy is %s", p.spec.RestartPolicy))
		}
	}
	if p.grace > 0 {
		p.spec.TerminationGracePeriodSeconds = &p.grace
	}
	if len(p.aliases) > 0 {
		slices.Sort(p.aliases)
		p.spec.HostAliases = []HostAlias{{IP: "127.0.0.1", Hostnames: slices.Compact(p.aliases)}}
	}
}

// container maps one definition to a container of the Pod.
func (p *podBuilder) container(d *unitgen.Definition) (Container, error) {
	c := Container{Name: labelOf(d.Name)}
	image, err := qualifiedImage(d.Container.Image)
	if err != nil {
		return c, err
	}
	if p.opts.StoredName != nil {
		if stored := p.opts.StoredName(d.Container.Image); stored != "" {
			image = stored
		}
	}
	if strings.HasPrefix(image, "localhost/") {
		p.warnings = append(p.warnings, Warning{c.Name, fmt.Sprintf("image %s is this host's own (imported or built): push it to a registry the cluster pulls from", image)})
	}
	c.Image = image
	if d.Container.Entrypoint.Set {
		c.Command = slices.Clone(d.Container.Entrypoint.Args)
		if len(c.Command) == 0 {
			p.annotate(c.Name, "entrypoint", "[]", "an empty command means the image's in Kubernetes")
		}
	}
	if d.Container.Command.Set {
		c.Args = slices.Clone(d.Container.Command.Args)
	}
	for _, k := range slices.Sorted(maps.Keys(d.Container.Environment)) {
		c.Env = append(c.Env, EnvVar{Name: k, Value: d.Container.Environment[k]})
	}
	c.WorkingDir = d.Container.WorkingDir
	c.ImagePullPolicy = p.pullPolicy(c.Name, d)
	p.containerSettings(&c, d)
	if err := p.sockets(&c, d); err != nil {
		return c, err
	}
	p.mounts(&c, d)
	p.resources(&c, d)
	p.security(&c, d)
	p.service(c.Name, d)
	return c, nil
}

// qualifiedImage is the image as a registry reference with its registry
// and tag: "hello" is docker.io/library/hello:latest.
func qualifiedImage(image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("image %q: not a registry reference a cluster can pull (accepted: NAME[:TAG] or NAME@sha256:DIGEST): %w", image, err)
	}
	return reference.TagNameOnly(named).String(), nil
}

func (p *podBuilder) pullPolicy(c string, d *unitgen.Definition) string {
	switch d.Container.Pull {
	case unitgen.PullAlways:
		return "Always"
	case unitgen.PullNever:
		return "Never"
	case "", unitgen.PullMissing:
		return "IfNotPresent"
	}
	p.annotate(c, "pull", string(d.Container.Pull), "Kubernetes pulls Always, IfNotPresent or Never")
	return "Always"
}

// containerSettings keeps the [container] keys that have no field.
func (p *podBuilder) containerSettings(c *Container, d *unitgen.Definition) {
	ct := d.Container
	if len(ct.EnvironmentFiles) > 0 {
		p.annotate(c.Name, "environment_files", jsonString(ct.EnvironmentFiles), "host files: put them in a Secret and use envFrom")
	}
	if ct.Hostname != "" {
		if p.single && isLabel(ct.Hostname) {
			p.spec.Hostname = ct.Hostname
		} else {
			p.annotate(c.Name, "hostname", ct.Hostname, "a Pod has one hostname")
		}
	}
	if ct.Ephemeral {
		p.annotate(c.Name, "ephemeral", "true", "a cluster's containers always start from the image")
	}
	if ct.Notify {
		p.annotate(c.Name, "notify", "true", "no sd_notify in Kubernetes: the readiness probe says when it is ready")
	}
	if ct.Init {
		p.annotate(c.Name, "init", "true", "no init per container in Kubernetes")
	}
	if ct.AutoUpdate != "" && ct.AutoUpdate != unitgen.AutoUpdateDisabled {
		p.annotate(c.Name, "auto_update", string(ct.AutoUpdate), "a cluster updates by new manifests")
	}
	// A container of a Pod of several is on the network the Pod is
	// named after: the Pod is that network.
	if len(ct.Networks) > 1 {
		p.annotate(c.Name, "networks", jsonString(ct.Networks), "a Pod's containers share its network")
	} else if len(ct.Networks) == 1 && p.single {
		p.annotate(c.Name, "network", ct.Networks[0], "a Pod has the cluster's network")
	} else if ct.Network == unitgen.NetworkHost {
		p.spec.HostNetwork = true
	}
	if len(ct.IP) > 0 {
		p.annotate(c.Name, "ip", jsonString(ct.IP), "a cluster gives Pods their addresses")
	}
	if len(ct.Networks) > 0 {
		// Containers on one network reach each other by name: in a Pod,
		// those names are localhost.
		p.aliases = append(p.aliases, c.Name)
		for _, a := range ct.Aliases {
			if isLabel(a) {
				p.aliases = append(p.aliases, a)
			}
		}
	}
	if len(ct.Aliases) > 0 {
		p.annotate(c.Name, "aliases", jsonString(ct.Aliases), "names on the network: hostAliases of 127.0.0.1 in the Pod")
	}
	if len(ct.Labels) > 0 {
		p.annotate(c.Name, "labels", jsonString(ct.Labels), "a container's labels")
	}
}

// sockets turns the sockets into container ports and Service ports.
func (p *podBuilder) sockets(c *Container, d *unitgen.Definition) error {
	probed := false
	for i, s := range d.Sockets {
		key := fmt.Sprintf("socket_%d", i+1)
		if s.IsUnix() {
			p.annotate(c.Name, key, socketJSON(s), "a unix socket of the host")
			continue
		}
		protocol := "TCP"
		switch s.Type {
		case unitgen.SocketDatagram:
			protocol = "UDP"
		case unitgen.SocketSeqPacket:
			p.annotate(c.Name, key, socketJSON(s), "Kubernetes has no SEQPACKET ports")
			continue
		}
		host, listenPort, err := splitListen(s.Listen)
		if err != nil {
			return fmt.Errorf("socket %s: %w", s.Listen, err)
		}
		target := s.Port
		if target == 0 {
			// The application gets the socket from systemd here; in a
			// cluster it binds the port itself. The Service's
			// annotation lets play pass the socket again.
			target = listenPort
			p.warnings = append(p.warnings, Warning{c.Name, fmt.Sprintf("socket %s is passed (socket activation): in Kubernetes the application must bind port %d itself", s.Listen, target)})
			p.listen[fmt.Sprintf("%spassed-%d", AnnotationPrefix, listenPort)] = "true"
		}
		name := ""
		if isPortName(s.Name) {
			name = s.Name
		}
		c.Ports = append(c.Ports, ContainerPort{Name: name, ContainerPort: int32(target), Protocol: protocol})
		if protocol == "TCP" && !probed {
			probed = true
			// dockah forwards connections only once the application
			// listens: a cluster's readiness probe does the same.
			c.ReadinessProbe = &Probe{TCPSocket: &TCPSocketAction{Port: Int(int32(target))}}
		}
		p.ports = append(p.ports, ServicePort{Name: name, Protocol: protocol, Port: int32(listenPort), TargetPort: Int(int32(target))})
		if host != "" {
			p.listen[fmt.Sprintf("%slisten-%d", AnnotationPrefix, listenPort)] = s.Listen
		}
	}
	return nil
}

// socketJSON is a socket as an annotation keeps it.
func socketJSON(s unitgen.Socket) string {
	m := map[string]any{"listen": s.Listen}
	if s.Port != 0 {
		m["port"] = s.Port
	}
	if s.Type != "" && s.Type != unitgen.SocketStream {
		m["type"] = s.Type
	}
	if s.Name != "" {
		m["name"] = s.Name
	}
	return jsonString(m)
}

// splitListen splits "ADDR:PORT", "[ADDR]:PORT" or "PORT".
func splitListen(listen string) (host string, port int, err error) {
	ps := listen
	if i := strings.LastIndexByte(listen, ':'); i >= 0 {
		host, ps = strings.Trim(listen[:i], "[]"), listen[i+1:]
	}
	port, err = strconv.Atoi(ps)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("no port in %q", listen)
	}
	return host, port, nil
}

// mounts maps volumes and tmpfs to the Pod's volumes and the container's
// mounts.
func (p *podBuilder) mounts(c *Container, d *unitgen.Definition) {
	for _, v := range d.Volumes {
		var vol Volume
		if v.IsNamed() {
			claim := labelOf(v.Source)
			p.claims[claim] = true
			vol = Volume{Name: "claim-" + claim, PersistentVolumeClaim: &ClaimSource{ClaimName: claim}}
			if claim != v.Source {
				p.annotate(c.Name, "volume_"+claim, v.Source, "the named volume's name is not a Kubernetes name")
			}
			if !v.Copy {
				p.annotate(c.Name, "volume_"+claim+"_copy", "false", "a new claim is empty anyway")
			}
		} else {
			vol = Volume{Name: "host-" + labelOf(v.Source), HostPath: &HostPathSource{Path: v.Source}}
		}
		if len(vol.Name) > 63 {
			vol.Name = strings.TrimRight(vol.Name[:63], "-")
		}
		if v.Relabel != "" && v.Relabel != unitgen.RelabelNone {
			p.annotate(c.Name, "relabel_"+vol.Name, v.Relabel, "SELinux relabelling is the cluster's")
		}
		p.addVolume(vol)
		c.VolumeMounts = append(c.VolumeMounts, VolumeMount{Name: vol.Name, MountPath: v.Target, ReadOnly: v.ReadOnly})
	}
	for i, t := range d.Tmpfs {
		vol := Volume{Name: fmt.Sprintf("tmpfs-%s-%d", c.Name, i+1), EmptyDir: &EmptyDirSource{Medium: "Memory"}}
		if len(vol.Name) > 63 {
			vol.Name = fmt.Sprintf("tmpfs-%d-%d", len(p.spec.Containers), i+1)
		}
		if t.Size > 0 {
			q := memoryQuantity(t.Size)
			vol.EmptyDir.SizeLimit = &q
		}
		if t.Mode != 0 && t.Mode != 0o1777 {
			p.annotate(c.Name, fmt.Sprintf("tmpfs_%d_mode", i+1), fmt.Sprintf("%#o", t.Mode), "an emptyDir's mode is the cluster's")
		}
		p.addVolume(vol)
		c.VolumeMounts = append(c.VolumeMounts, VolumeMount{Name: vol.Name, MountPath: t.Target})
	}
}

func (p *podBuilder) addVolume(v Volume) {
	if p.volumes[v.Name] {
		return
	}
	p.volumes[v.Name] = true
	p.spec.Volumes = append(p.spec.Volumes, v)
}

// resources maps [resources] to limits.
func (p *podBuilder) resources(c *Container, d *unitgen.Definition) {
	r := d.Resources
	limits := map[string]Quantity{}
	if r.MemoryMax != 0 && r.MemoryMax != unitgen.Unlimited {
		limits["memory"] = memoryQuantity(r.MemoryMax)
	}
	if r.CPUQuota != 0 {
		limits["cpu"] = cpuQuantity(r.CPUQuota)
	}
	if len(limits) > 0 {
		c.Resources = &Resources{Limits: limits}
	}
	for _, kv := range []struct {
		key string
		set bool
		val string
	}{
		{"memory_high", r.MemoryHigh != 0, sizeString(r.MemoryHigh)},
		{"memory_swap_max", r.MemorySwapMax != 0, sizeString(r.MemorySwapMax)},
		{"cpu_weight", r.CPUWeight != 0, strconv.Itoa(r.CPUWeight)},
		{"tasks_max", r.TasksMax != 0, sizeString(r.TasksMax)},
		{"io_weight", r.IOWeight != 0, strconv.Itoa(r.IOWeight)},
	} {
		if kv.set {
			p.annotate(c.Name, kv.key, kv.val, "no such limit in Kubernetes")
		}
	}
}

func sizeString(n uint64) string {
	if n == unitgen.Unlimited {
		return "infinity"
	}
	return strconv.FormatUint(n, 10)
}

// security maps [security] and the user to the securityContext.
func (p *podBuilder) security(c *Container, d *unitgen.Definition) {
	s := d.Security
	sc := &SecurityContext{}
	if u := d.Container.User; u != "" {
		uid, gid, hasGid := strings.Cut(u, ":")
		nu, err1 := strconv.ParseInt(uid, 10, 64)
		ng, err2 := strconv.ParseInt(gid, 10, 64)
		if err1 != nil || (hasGid && err2 != nil) {
			p.annotate(c.Name, "user", u, "Kubernetes takes numeric ids only")
		} else {
			sc.RunAsUser = &nu
			if hasGid {
				sc.RunAsGroup = &ng
			}
		}
	}
	if d.Container.ReadOnly {
		t := true
		sc.ReadOnlyRootFilesystem = &t
	}
	escalate := !s.NoNewPrivileges
	sc.AllowPrivilegeEscalation = &escalate
	if len(s.CapabilitiesAdd)+len(s.CapabilitiesDrop) > 0 {
		sc.Capabilities = &Capabilities{Add: capNames(s.CapabilitiesAdd), Drop: capNames(s.CapabilitiesDrop)}
	}
	switch s.Seccomp {
	case "", unitgen.SeccompDefault:
		sc.SeccompProfile = &SeccompProfile{Type: "RuntimeDefault"}
	case unitgen.SeccompUnconfined:
		sc.SeccompProfile = &SeccompProfile{Type: "Unconfined"}
	default:
		sc.SeccompProfile = &SeccompProfile{Type: "Localhost", LocalhostProfile: path.Base(s.Seccomp)}
		p.annotate(c.Name, "seccomp", s.Seccomp, "a Localhost profile is a file of the node's seccomp directory: copy it there")
	}
	if s.SELinuxType != "" || s.SELinuxLevel != "" {
		sc.SELinuxOptions = &SELinuxOptions{Type: s.SELinuxType, Level: s.SELinuxLevel}
	}
	if len(s.MaskedPaths) > 0 {
		p.annotate(c.Name, "masked_paths", jsonString(s.MaskedPaths), "a cluster's runtime has its own masked paths")
	}
	if s.UnitSandbox != "" && s.UnitSandbox != unitgen.UnitSandboxShim {
		p.annotate(c.Name, "unit_sandbox", s.UnitSandbox, "the sandbox of dockah's shim")
	}
	c.SecurityContext = sc
}

// capNames are capabilities as Kubernetes names them: without CAP_.
func capNames(caps []string) []string {
	var out []string
	for _, c := range caps {
		out = append(out, strings.TrimPrefix(strings.ToUpper(c), "CAP_"))
	}
	return out
}

// service maps [service] and [systemd.*].
func (p *podBuilder) service(c string, d *unitgen.Definition) {
	s := d.Service
	p.restart = append(p.restart, s.Restart)
	if s.StopTimeout == unitgen.Infinity {
		p.annotate(c, "stop_timeout", "infinity", "a grace period is finite")
	} else if s.StopTimeout > 0 {
		p.grace = max(p.grace, int64((s.StopTimeout+time.Second-1)/time.Second))
	}
	durations := []struct {
		key string
		v   time.Duration
	}{{"idle_timeout", s.IdleTimeout}, {"start_timeout", s.StartTimeout}}
	for _, kv := range durations {
		if kv.v == unitgen.Infinity {
			p.annotate(c, kv.key, "infinity", "no such setting in Kubernetes")
		} else if kv.v > 0 {
			p.annotate(c, kv.key, durationString(kv.v), "no such setting in Kubernetes")
		}
	}
	if s.StopSignal != "" && s.StopSignal != "SIGTERM" {
		p.annotate(c, "stop_signal", s.StopSignal, "Kubernetes stops with SIGTERM (or the image's STOPSIGNAL)")
	}
	for _, kv := range []struct {
		key  string
		list []string
	}{{"after", s.After}, {"requires", s.Requires}, {"wants", s.Wants}, {"wanted_by", s.WantedBy}} {
		if len(kv.list) > 0 {
			p.annotate(c, kv.key, jsonString(kv.list), "systemd's ordering and start at boot")
		}
	}
	for _, sec := range []struct {
		key  string
		dirs []unitgen.Directive
	}{{"systemd_unit", d.Systemd.Unit}, {"systemd_service", d.Systemd.Service}, {"systemd_socket", d.Systemd.Socket}} {
		if len(sec.dirs) > 0 {
			var lines []string
			for _, dir := range sec.dirs {
				lines = append(lines, dir.Key+"="+dir.Value)
			}
			p.annotate(c, sec.key, jsonString(lines), "raw systemd directives")
		}
	}
}

// durationString writes a duration as systemd reads it: "90s", "500ms".
func durationString(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// claimObject is the PersistentVolumeClaim of a named volume.
func claimObject(name string) PersistentVolumeClaim {
	return PersistentVolumeClaim{
		TypeMeta: TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		Metadata: ObjectMeta{Name: name},
		Spec: ClaimSpec{AccessModes: []string{"ReadWriteOnce"},
			Resources: &Resources{Requests: map[string]Quantity{"storage": "1Gi"}}},
	}
}
