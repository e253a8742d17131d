package kube

import (
	"encoding/json"
	"fmt"
	"io/fs"
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

// environment sets the variables; those from Secrets go to a file of
// mode 0600 (environment_files) rather than into the definition.
func (b *defBuilder) environment() error {
	env := map[string]string{}
	for i, from := range b.c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, err := b.configMap(from.ConfigMapRef.Name, from.ConfigMapRef.Optional)
			if err != nil {
				return fmt.Errorf("envFrom[%d]: %w", i, err)
			}
			if cm != nil {
				for k, v := range cm.Data {
					env[from.Prefix+k] = v
				}
			}
		case from.SecretRef != nil:
			s, err := b.secret(from.SecretRef.Name, from.SecretRef.Optional)
			if err != nil {
				return fmt.Errorf("envFrom[%d]: %w", i, err)
			}
			for _, k := range slices.Sorted(maps.Keys(secretData(s))) {
				if err := b.addSecretEnv(from.Prefix+k, secretData(s)[k]); err != nil {
					return fmt.Errorf("envFrom[%d]: %w", i, err)
				}
			}
		default:
			return fmt.Errorf("envFrom[%d]: want configMapRef or secretRef", i)
		}
	}
	for i, e := range b.c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
			continue
		}
		switch vf := e.ValueFrom; {
		case vf.ConfigMapKeyRef != nil:
			cm, err := b.configMap(vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Optional)
			if err != nil {
				return fmt.Errorf("env[%d] %s: %w", i, e.Name, err)
			}
			v, ok := "", false
			if cm != nil {
				v, ok = cm.Data[vf.ConfigMapKeyRef.Key]
			}
			if !ok && !isTrue(vf.ConfigMapKeyRef.Optional) {
				return fmt.Errorf("env[%d] %s: ConfigMap %s has no key %s", i, e.Name, vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key)
			}
			if ok {
				env[e.Name] = v
			}
		case vf.SecretKeyRef != nil:
			s, err := b.secret(vf.SecretKeyRef.Name, vf.SecretKeyRef.Optional)
			if err != nil {
				return fmt.Errorf("env[%d] %s: %w", i, e.Name, err)
			}
			v, ok := secretData(s)[vf.SecretKeyRef.Key]
			if !ok && !isTrue(vf.SecretKeyRef.Optional) {
				return fmt.Errorf("env[%d] %s: Secret %s has no key %s", i, e.Name, vf.SecretKeyRef.Name, vf.SecretKeyRef.Key)
			}
			if ok {
				delete(env, e.Name)
				if err := b.addSecretEnv(e.Name, v); err != nil {
					return fmt.Errorf("env[%d]: %w", i, err)
				}
			}
		default:
			b.warn(fmt.Sprintf("env[%d] %s: valueFrom other than configMapKeyRef and secretKeyRef (the downward API) is not supported: not set", i, e.Name))
		}
	}
	if len(env) > 0 {
		b.container["environment"] = env
	}
	if len(b.secretEnv) > 0 {
		p := path.Join(b.dir, b.c.Name+".env")
		b.plan.Files = append(b.plan.Files, PlannedFile{Path: p, Data: []byte(strings.Join(b.secretEnv, "\n") + "\n"), Mode: 0o600})
		b.container["environment_files"] = []string{p}
	}
	return nil
}

func (b *defBuilder) addSecretEnv(key string, value []byte) error {
	if strings.ContainsAny(key, "= \t\n\x00") || key == "" {
		return fmt.Errorf("%q is not a variable name", key)
	}
	if strings.ContainsAny(string(value), "\n\r\x00") || strings.TrimLeft(string(value), " \t") != string(value) {
		return fmt.Errorf("the value of %s has a line break, a NUL or leading blanks: it cannot be an environment variable here (mount the Secret as a file)", key)
	}
	b.secretEnv = append(b.secretEnv, key+"="+string(value))
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }

func (b *defBuilder) configMap(name string, optional *bool) (*ConfigMap, error) {
	if cm := b.configMaps[name]; cm != nil {
		return cm, nil
	}
	if isTrue(optional) {
		return nil, nil
	}
	return nil, fmt.Errorf("no ConfigMap %s in these files", name)
}

func (b *defBuilder) secret(name string, optional *bool) (*Secret, error) {
	if s := b.secrets[name]; s != nil {
		return s, nil
	}
	if isTrue(optional) {
		return nil, nil
	}
	return nil, fmt.Errorf("no Secret %s in these files", name)
}

// secretData merges a Secret's data and stringData (which wins, as the
// API server does it).
func secretData(s *Secret) map[string][]byte {
	out := map[string][]byte{}
	if s == nil {
		return out
	}
	for k, v := range s.Data {
		out[k] = v
	}
	for k, v := range s.StringData {
		out[k] = []byte(v)
	}
	return out
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

// mounts maps the volume mounts.
func (b *defBuilder) mounts() error {
	vols := map[string]*Volume{}
	for i := range b.pod.spec.Volumes {
		vols[b.pod.spec.Volumes[i].Name] = &b.pod.spec.Volumes[i]
	}
	for _, m := range b.c.VolumeMounts {
		v := vols[m.Name]
		switch {
		case v.Projected.IsSet():
			b.warn(fmt.Sprintf("volume %s: projected (a cluster's service account token): not mounted", v.Name))
		case v.HostPath != nil:
			b.volumes = append(b.volumes, map[string]any{"source": v.HostPath.Path, "target": m.MountPath, "read_only": m.ReadOnly})
		case v.PersistentVolumeClaim != nil:
			vol := map[string]any{"source": v.PersistentVolumeClaim.ClaimName, "target": m.MountPath, "read_only": m.ReadOnly || v.PersistentVolumeClaim.ReadOnly}
			if b.ann["volume_"+v.PersistentVolumeClaim.ClaimName+"_copy"] == "false" {
				vol["copy"] = false
			}
			b.volumes = append(b.volumes, vol)
		case v.EmptyDir != nil && v.EmptyDir.Medium == "Memory":
			t := map[string]any{"target": m.MountPath}
			if v.EmptyDir.SizeLimit != nil {
				n, err := v.EmptyDir.SizeLimit.bytes()
				if err != nil {
					return fmt.Errorf("volume %s: sizeLimit: %w", v.Name, err)
				}
				t["size"] = int64(n)
			}
			if b.multi && b.sharedVolume(v.Name) {
				b.warn(fmt.Sprintf("volume %s: a Memory emptyDir is a tmpfs of each container, not shared", v.Name))
			}
			b.tmpfs = append(b.tmpfs, t)
		case v.EmptyDir != nil:
			// Shared by the Pod's containers: a named volume of the Pod.
			name := b.pod.name + "-" + v.Name
			b.volumes = append(b.volumes, map[string]any{"source": name, "target": m.MountPath, "read_only": m.ReadOnly, "copy": false})
			b.warn(fmt.Sprintf("volume %s: an emptyDir is the named volume %s, kept after --down until removed", v.Name, name))
		case v.ConfigMap != nil, v.Secret != nil:
			dir, err := b.projected(v)
			if err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
			b.volumes = append(b.volumes, map[string]any{"source": dir, "target": m.MountPath, "read_only": true})
		}
	}
	return nil
}

func (b *defBuilder) sharedVolume(name string) bool {
	n := 0
	for _, c := range b.pod.spec.Containers {
		for _, m := range c.VolumeMounts {
			if m.Name == name {
				n++
			}
		}
	}
	return n > 1
}

// projected plans the files of a ConfigMap or Secret volume, in a
// directory of the Pod, and returns the directory.
func (b *defBuilder) projected(v *Volume) (string, error) {
	var data map[string][]byte
	var items []KeyToPath
	var mode *int32
	var err error
	dir := path.Join(b.dir, "volume-"+v.Name)
	if v.ConfigMap != nil {
		cm, e := b.configMap(v.ConfigMap.Name, v.ConfigMap.Optional)
		err, items, mode = e, v.ConfigMap.Items, v.ConfigMap.DefaultMode
		data = map[string][]byte{}
		if cm != nil {
			for k, s := range cm.Data {
				data[k] = []byte(s)
			}
			for k, bin := range cm.BinaryData {
				data[k] = bin
			}
		}
	} else {
		s, e := b.secret(v.Secret.SecretName, v.Secret.Optional)
		err, items, mode, data = e, v.Secret.Items, v.Secret.DefaultMode, secretData(s)
	}
	if err != nil {
		return "", err
	}
	def := fs.FileMode(0o644)
	if mode != nil {
		if *mode < 0 || *mode > 0o777 {
			return "", fmt.Errorf("defaultMode %#o: not a permission (accepted: 0 to 0777)", *mode)
		}
		def = fs.FileMode(*mode)
	}
	if items == nil {
		for _, k := range slices.Sorted(maps.Keys(data)) {
			items = append(items, KeyToPath{Key: k, Path: k})
		}
	}
	if slices.Contains(b.plan.Mkdirs, dir) {
		// Another container of the Pod mounts it too.
		return dir, nil
	}
	b.plan.Mkdirs = append(b.plan.Mkdirs, dir)
	for _, it := range items {
		content, ok := data[it.Key]
		if !ok {
			return "", fmt.Errorf("items: no key %s", it.Key)
		}
		m := def
		if it.Mode != nil {
			if *it.Mode < 0 || *it.Mode > 0o777 {
				return "", fmt.Errorf("items %s: mode %#o (accepted: 0 to 0777)", it.Key, *it.Mode)
			}
			m = fs.FileMode(*it.Mode)
		}
		b.plan.Files = append(b.plan.Files, PlannedFile{Path: path.Join(dir, it.Path), Data: content, Mode: m})
	}
	return dir, nil
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

// annotation keys of Generate that Play puts back, and where.
var restored = map[string]struct {
	table string
	kind  string // "string", "bool", "int", "json"
}{
	"environment_files": {"container", "json"}, "hostname": {"container", "string"},
	"ephemeral": {"container", "bool"}, "notify": {"container", "bool"}, "init": {"container", "bool"},
	"auto_update": {"container", "string"}, "user": {"container", "string"}, "pull": {"container", "string"},
	"entrypoint": {"container", "json"}, "network": {"container", "string"},
	"memory_high": {"resources", "int"}, "memory_swap_max": {"resources", "int"}, "cpu_weight": {"resources", "int"},
	"tasks_max": {"resources", "int"}, "io_weight": {"resources", "int"},
	"masked_paths": {"security", "json"}, "unit_sandbox": {"security", "string"}, "seccomp": {"security", "string"},
	"restart": {"service", "string"}, "stop_timeout": {"service", "string"}, "idle_timeout": {"service", "string"},
	"start_timeout": {"service", "string"}, "stop_signal": {"service", "string"},
	"after": {"service", "json"}, "requires": {"service", "json"}, "wants": {"service", "json"}, "wanted_by": {"service", "json"},
}

// annotations puts back what Generate kept in dockah.io/ annotations.
func (b *defBuilder) annotations() error {
	tables := map[string]map[string]any{"container": b.container, "resources": b.resources, "security": b.security, "service": b.service}
	for _, key := range slices.Sorted(maps.Keys(b.ann)) {
		v := b.ann[key]
		r, ok := restored[key]
		switch {
		case key == "aliases" && b.multi:
			var aliases []string
			if err := json.Unmarshal([]byte(v), &aliases); err != nil {
				return fmt.Errorf("annotation %s%s: %w", AnnotationPrefix, key, err)
			}
			b.container["aliases"] = append([]string{b.c.Name}, aliases...)
			continue
		case key == "network" && b.multi:
			continue
		case strings.HasPrefix(key, "systemd_"):
			if err := b.directives(strings.TrimPrefix(key, "systemd_"), v); err != nil {
				return err
			}
			continue
		case strings.HasPrefix(key, "tmpfs_") && strings.HasSuffix(key, "_mode"):
			b.tmpfsMode(key, v)
			continue
		case strings.HasPrefix(key, "socket_"):
			if err := b.annotatedSocket(key, v); err != nil {
				return err
			}
			continue
		case strings.HasPrefix(key, "volume_") || strings.HasPrefix(key, "tmpfs_") || strings.HasPrefix(key, "relabel_"):
			if !strings.HasSuffix(key, "_copy") {
				b.warn(fmt.Sprintf("annotation %s%s = %q: not put back", AnnotationPrefix, key, v))
			}
			continue
		case !ok:
			b.warn(fmt.Sprintf("annotation %s%s: not a setting dockah knows, ignored", AnnotationPrefix, key))
			continue
		}
		var val any = v
		switch r.kind {
		case "bool":
			val = v == "true"
		case "int":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				val = n
			}
		case "json":
			var list []string
			if err := json.Unmarshal([]byte(v), &list); err != nil {
				return fmt.Errorf("annotation %s%s: want a JSON array of strings: %w", AnnotationPrefix, key, err)
			}
			val = list
		}
		tables[r.table][key] = val
	}
	return nil
}

// annotatedSocket puts back a socket Kubernetes has no port for (a unix
// socket, SEQPACKET): {"listen": ..., "port": ..., "type": ..., "name": ...}.
func (b *defBuilder) annotatedSocket(key, v string) error {
	var s struct {
		Listen string `json:"listen"`
		Port   int64  `json:"port"`
		Type   string `json:"type"`
		Name   string `json:"name"`
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil || s.Listen == "" {
		return fmt.Errorf("annotation %s%s: want {\"listen\": ..., \"port\": N}: %v", AnnotationPrefix, key, err)
	}
	m := map[string]any{"listen": s.Listen}
	if s.Port != 0 {
		m["port"] = s.Port
	}
	if s.Type != "" {
		m["type"] = s.Type
	}
	if s.Name != "" {
		m["name"] = s.Name
	}
	b.sockets = append(b.sockets, m)
	return nil
}

// tmpfsMode puts back the mode of the Nth tmpfs (tmpfs_N_mode).
func (b *defBuilder) tmpfsMode(key, v string) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(key, "tmpfs_"), "_mode"))
	if err != nil || n < 1 || n > len(b.tmpfs) {
		b.warn(fmt.Sprintf("annotation %s%s: no such tmpfs", AnnotationPrefix, key))
		return
	}
	b.tmpfs[n-1]["mode"] = v
}

// directives puts back the raw systemd directives of one section.
func (b *defBuilder) directives(section, v string) error {
	if section != "unit" && section != "service" && section != "socket" {
		b.warn(fmt.Sprintf("annotation %ssystemd_%s: no such section", AnnotationPrefix, section))
		return nil
	}
	var lines []string
	if err := json.Unmarshal([]byte(v), &lines); err != nil {
		return fmt.Errorf("annotation %ssystemd_%s: want a JSON array of KEY=VALUE: %w", AnnotationPrefix, section, err)
	}
	table := map[string]any{}
	for _, l := range lines {
		k, val, _ := strings.Cut(l, "=")
		switch prev := table[k].(type) {
		case nil:
			table[k] = val
		case string:
			table[k] = []string{prev, val}
		case []string:
			table[k] = append(prev, val)
		}
	}
	b.systemd[section] = table
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
