package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/dockah/dockah/rootfs"
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
				Template: PodTemplateSpec{Metadata: ObjectMeta{Labels: labels, Annotations: meta.Annotations}, Spec: p.spec}},
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
//
// rootfs.ParseReference is Docker's grammar and normalization (a
// differential fuzz test holds it to github.com/distribution/reference's
// ParseNormalizedNamed and TagNameOnly), without that package's dozen
// regular expressions, which every run of the dockah command compiled at
// its start (0.6 ms) for kube generate alone.
func qualifiedImage(image string) (string, error) {
	ref, err := rootfs.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("image %q: not a registry reference a cluster can pull (accepted: NAME[:TAG] or NAME@sha256:DIGEST): %w", image, err)
	}
	return ref.String(), nil
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
