package kube

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/dockah/dockah/unitgen"
)

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
