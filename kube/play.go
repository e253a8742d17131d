package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/dockah/dockah/unitgen"
)

// PodLabel is the label of every container kube play defines: the Pod
// it belongs to.
const PodLabel = "io.dockah.kube.pod"

// PlayOptions say where Play's definitions and files go.
type PlayOptions struct {
	// ContainersDir is where the definitions are written
	// (/run/dockah/containers, or /etc/dockah/containers).
	ContainersDir string
	// NetworksDir is where a Pod's network is written.
	NetworksDir string
	// DataDir holds the files of ConfigMaps and Secrets, a directory per
	// Pod (/run/dockah/kube, or /etc/dockah/kube).
	DataDir string
	// Persist: the containers start at boot (wanted_by).
	Persist bool
}

// Plan is what `dockah kube play` writes and starts.
type Plan struct {
	Containers []PlannedContainer
	Networks   []PlannedFile
	// Files are the ConfigMap and Secret files and environment files,
	// below Dirs.
	Files []PlannedFile
	// Dirs are the data directories, one per Pod, removed by --down.
	Dirs []string
	// Mkdirs are the directories of ConfigMap and Secret volumes, made
	// even when they have no file.
	Mkdirs   []string
	Warnings []Warning
}

// PlannedContainer is one definition.
type PlannedContainer struct {
	Pod  string
	Name string
	Path string
	Data []byte
	Def  *unitgen.Definition
}

// PlannedFile is a file to write: Path absolute, Mode its permissions.
type PlannedFile struct {
	Name string // a network's name; empty for data files
	Path string
	Data []byte
	Mode fs.FileMode
}

// pod is a Pod or a Deployment's template.
type pod struct {
	name        string
	where       string
	labels      map[string]string
	annotations map[string]string
	spec        *PodSpec
	// sockets found for each container by the Services.
	sockets map[string][]map[string]any
}

// player keeps the objects of all files while planning.
type player struct {
	opts       PlayOptions
	configMaps map[string]*ConfigMap
	secrets    map[string]*Secret
	pods       []*pod
	plan       *Plan
}

// Play plans the definitions, networks and files that run objs on one
// host: a definition per container, named after the Pod (and the
// container, when the Pod has several); a network named after a Pod of
// several containers, on which each has its container name as alias; the
// Services' ports as sockets of the containers they select. It returns
// the Diagnostics of all problems together.
func Play(objs []Object, opts PlayOptions) (*Plan, error) {
	pl := &player{opts: opts, configMaps: map[string]*ConfigMap{}, secrets: map[string]*Secret{}, plan: &Plan{}}
	var errs []error
	seen := map[string]string{}
	for _, o := range objs {
		key := o.Kind() + "/" + o.Name()
		if o.Pod != nil || o.Deployment != nil {
			key = "pod/" + o.Name()
		}
		if prev, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s: the name is taken by %s", o.where(), prev))
			continue
		}
		seen[key] = o.where()
		switch {
		case o.Pod != nil:
			pl.addPod(o, o.Pod.Metadata, &o.Pod.Spec)
		case o.Deployment != nil:
			d := o.Deployment
			replicas := int32(1)
			if d.Spec.Replicas != nil {
				replicas = *d.Spec.Replicas
			}
			if replicas == 0 {
				pl.warn(o.where(), "replicas: 0: nothing to run")
				continue
			}
			if replicas > 1 {
				pl.warn(o.where(), fmt.Sprintf("replicas: %d: one host runs one replica", replicas))
			}
			meta := d.Spec.Template.Metadata
			meta.Name = d.Metadata.Name
			pl.addPod(o, meta, &d.Spec.Template.Spec)
		case o.ConfigMap != nil:
			pl.configMaps[o.Name()] = o.ConfigMap
		case o.Secret != nil:
			pl.secrets[o.Name()] = o.Secret
		case o.Claim != nil:
			if o.Claim.Spec.Resources != nil && len(o.Claim.Spec.Resources.Requests) > 0 {
				pl.warn(o.where(), "resources.requests: a named volume has no size limit")
			}
		}
	}
	for _, o := range objs {
		if o.Service != nil {
			if err := pl.service(o); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", o.where(), err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, p := range pl.pods {
		if err := pl.playPod(p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.where, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return pl.plan, nil
}

func (pl *player) warn(where, msg string) {
	pl.plan.Warnings = append(pl.plan.Warnings, Warning{where, msg})
}

func (pl *player) addPod(o Object, meta ObjectMeta, spec *PodSpec) {
	pl.pods = append(pl.pods, &pod{name: meta.Name, where: o.where(), labels: meta.Labels,
		annotations: meta.Annotations, spec: spec, sockets: map[string][]map[string]any{}})
}

// service adds the ports of a Service as sockets of the container they
// reach: the Service's port is where the socket listens, the targetPort
// where it forwards to.
func (pl *player) service(o Object) error {
	s := o.Service
	if len(s.Spec.Selector) == 0 {
		pl.warn(o.where(), "no selector: it selects no Pod")
		return nil
	}
	var matched []*pod
	for _, p := range pl.pods {
		if selects(s.Spec.Selector, p.labels) {
			matched = append(matched, p)
		}
	}
	switch len(matched) {
	case 0:
		pl.warn(o.where(), "selects no Pod of these files")
		return nil
	case 1:
	default:
		return fmt.Errorf("selects %d Pods: one socket starts one container (accepted: a selector that matches one Pod or Deployment)", len(matched))
	}
	p := matched[0]
	for i, sp := range s.Spec.Ports {
		c, target, err := targetOf(p.spec, sp)
		if err != nil {
			return fmt.Errorf("spec.ports[%d]: %w", i, err)
		}
		listen := fmt.Sprintf("127.0.0.1:%d", sp.Port)
		switch s.Spec.Type {
		case "NodePort":
			listen = fmt.Sprint(cmpOrInt(sp.NodePort, sp.Port))
		case "LoadBalancer":
			listen = fmt.Sprint(sp.Port)
		}
		if a, ok := s.Metadata.Annotations[fmt.Sprintf("%slisten-%d", AnnotationPrefix, sp.Port)]; ok {
			listen = a
		}
		sock := map[string]any{"listen": listen, "port": int64(target)}
		if s.Metadata.Annotations[fmt.Sprintf("%spassed-%d", AnnotationPrefix, sp.Port)] == "true" {
			// Generated from a socket passed to the application
			// (socket activation): passed again, not forwarded.
			delete(sock, "port")
		}
		if sp.Protocol == "UDP" {
			sock["type"] = unitgen.SocketDatagram
		}
		if isPortName(sp.Name) {
			sock["name"] = sp.Name
		}
		p.sockets[c] = append(p.sockets[c], sock)
	}
	return nil
}

func cmpOrInt(a, b int32) int32 {
	if a != 0 {
		return a
	}
	return b
}

// selects reports whether every key of selector has its value in labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// targetOf finds the container and port a Service port reaches.
func targetOf(spec *PodSpec, sp ServicePort) (string, int32, error) {
	t := sp.TargetPort
	if t.IsZero() {
		t = Int(sp.Port)
	}
	for _, c := range spec.Containers {
		for _, cp := range c.Ports {
			if (t.IsString && cp.Name == t.String) || (!t.IsString && cp.ContainerPort == t.Int) {
				return c.Name, cp.ContainerPort, nil
			}
		}
	}
	if !t.IsString && len(spec.Containers) == 1 {
		// A port the container does not declare: Kubernetes forwards to
		// it all the same.
		return spec.Containers[0].Name, t.Int, nil
	}
	what := fmt.Sprint(t.Int)
	if t.IsString {
		what = t.String
	}
	return "", 0, fmt.Errorf("targetPort %s: no container of the Pod declares it in ports (accepted: a containerPort number or port name)", what)
}

// playPod plans the definitions of one Pod.
func (pl *player) playPod(p *pod) error {
	multi := len(p.spec.Containers) > 1
	dir := path.Join(pl.opts.DataDir, p.name)
	pl.plan.Dirs = append(pl.plan.Dirs, dir)
	if multi {
		pl.plan.Networks = append(pl.plan.Networks, PlannedFile{Name: p.name, Path: path.Join(pl.opts.NetworksDir, p.name+".toml"),
			Data: []byte("# Written by dockah kube play: the network of the Pod " + p.name + ".\n[network]\n"), Mode: 0o644})
		pl.warn(p.where, fmt.Sprintf("the containers share no localhost: each reaches the others by container name on the network %s (see docs/kube.md)", p.name))
	}
	ann := podAnnotations(p)
	for key := range p.annotations {
		if strings.HasPrefix(key, AnnotationPrefix) && !ann.used[key] {
			pl.warn(p.where, fmt.Sprintf("annotation %s: not for a container of this Pod, ignored", key))
		}
	}
	var errs []error
	for i := range p.spec.Containers {
		c := &p.spec.Containers[i]
		name := p.name
		if multi {
			name = p.name + "-" + c.Name
		}
		b := &defBuilder{player: pl, pod: p, c: c, name: name, dir: dir, multi: multi, ann: ann.of(c.Name, multi),
			where: fmt.Sprintf("%s: container %s", p.where, c.Name)}
		pc, err := b.build()
		if err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", c.Name, err))
			continue
		}
		pl.plan.Containers = append(pl.plan.Containers, pc)
	}
	return errors.Join(errs...)
}

// annotations are a Pod's dockah.io/ annotations by container.
type annotations struct {
	all  map[string]string
	used map[string]bool
}

func podAnnotations(p *pod) *annotations {
	a := &annotations{all: map[string]string{}, used: map[string]bool{}}
	for k, v := range p.annotations {
		if strings.HasPrefix(k, AnnotationPrefix) {
			a.all[k] = v
		}
	}
	// Mark what some container takes, to report the rest.
	for _, c := range p.spec.Containers {
		a.of(c.Name, len(p.spec.Containers) > 1)
	}
	return a
}

// of returns the annotations of container c, by key, and marks them used.
func (a *annotations) of(c string, multi bool) map[string]string {
	out := map[string]string{}
	for k, v := range a.all {
		name := strings.TrimPrefix(k, AnnotationPrefix)
		key := name
		if multi {
			var ok bool
			if key, ok = strings.CutPrefix(name, c+"."); !ok {
				continue
			}
		} else if strings.Contains(name, ".") {
			continue
		}
		if strings.HasPrefix(key, "listen-") {
			continue
		}
		out[key] = v
		a.used[k] = true
	}
	return out
}

// encodeDefinition writes a definition's TOML.
func encodeDefinition(header string, def map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := toml.NewEncoder(&buf)
	enc.Indent = ""
	// Tables in a fixed order, as a person writes them.
	for _, table := range []string{"container", "socket", "volume", "tmpfs", "resources", "security", "service", "systemd"} {
		v, ok := def[table]
		if !ok {
			continue
		}
		if err := enc.Encode(map[string]any{table: v}); err != nil {
			return nil, err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(def)) {
		switch k {
		case "container", "socket", "volume", "tmpfs", "resources", "security", "service", "systemd":
		default:
			return nil, fmt.Errorf("internal: table %s", k)
		}
	}
	return buf.Bytes(), nil
}
