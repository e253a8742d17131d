package kube

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// subdomainPattern is a DNS-1123 subdomain: ConfigMap, Secret and claim
// names.
var subdomainPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// validate checks what the API server would, for what Plan relies on:
// names that become file and unit names, references between volumes and
// mounts, ports.
func validate(o Object) error {
	name := o.Name()
	switch {
	case o.Pod != nil, o.Deployment != nil, o.Service != nil:
		if err := checkLabel("metadata.name", name); err != nil {
			return err
		}
	default:
		if len(name) > 253 || !subdomainPattern.MatchString(name) || strings.Contains(name, "..") {
			return fmt.Errorf("metadata.name %q: not a DNS-1123 subdomain (accepted: lower-case letters, digits, '-' and '.')", name)
		}
	}
	switch {
	case o.Pod != nil:
		return validatePodSpec("spec", &o.Pod.Spec)
	case o.Deployment != nil:
		s := o.Deployment.Spec
		if s.Replicas != nil && *s.Replicas < 0 {
			return fmt.Errorf("spec.replicas: %d is negative", *s.Replicas)
		}
		if s.Selector == nil || len(s.Selector.MatchLabels) == 0 {
			return errors.New("spec.selector.matchLabels: missing (dockah reads matchLabels only)")
		}
		for k, v := range s.Selector.MatchLabels {
			if s.Template.Metadata.Labels[k] != v {
				return fmt.Errorf("spec.selector.matchLabels: %s=%s does not match the template's labels", k, v)
			}
		}
		return validatePodSpec("spec.template.spec", &s.Template.Spec)
	case o.Service != nil:
		return validateService(o.Service)
	case o.ConfigMap != nil:
		for k := range o.ConfigMap.Data {
			if err := checkKey(k); err != nil {
				return fmt.Errorf("data: %w", err)
			}
		}
		for k := range o.ConfigMap.BinaryData {
			if err := checkKey(k); err != nil {
				return fmt.Errorf("binaryData: %w", err)
			}
		}
	case o.Secret != nil:
		for k := range o.Secret.Data {
			if err := checkKey(k); err != nil {
				return fmt.Errorf("data: %w", err)
			}
		}
		for k := range o.Secret.StringData {
			if err := checkKey(k); err != nil {
				return fmt.Errorf("stringData: %w", err)
			}
		}
	}
	return nil
}

// checkKey checks a ConfigMap or Secret key, which becomes a file name.
func checkKey(k string) error {
	if len(k) > 253 || !keyPattern.MatchString(k) || k == "." || k == ".." {
		return fmt.Errorf("key %q: not a valid key (accepted: letters, digits, '-', '_' and '.'; not . or ..)", k)
	}
	return nil
}

func validatePodSpec(at string, s *PodSpec) error {
	if len(s.Containers) == 0 {
		return fmt.Errorf("%s.containers: none", at)
	}
	if len(s.InitContainers) > 0 {
		return fmt.Errorf("%s.initContainers: not supported (dockah runs each container as a service: order them with a container of its own)", at)
	}
	switch s.RestartPolicy {
	case "", "Always", "OnFailure", "Never":
	default:
		return fmt.Errorf("%s.restartPolicy %q (accepted: Always, OnFailure, Never)", at, s.RestartPolicy)
	}
	vols := map[string]*Volume{}
	for i := range s.Volumes {
		v := &s.Volumes[i]
		where := fmt.Sprintf("%s.volumes[%d]", at, i)
		if err := checkLabel(where+".name", v.Name); err != nil {
			return err
		}
		if vols[v.Name] != nil {
			return fmt.Errorf("%s.name %q: twice", where, v.Name)
		}
		vols[v.Name] = v
		if v.Projected.IsSet() {
			continue
		}
		n := 0
		for _, set := range []bool{v.HostPath != nil, v.EmptyDir != nil, v.PersistentVolumeClaim != nil, v.ConfigMap != nil, v.Secret != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: want exactly one of hostPath, emptyDir, persistentVolumeClaim, configMap, secret", where)
		}
		if v.HostPath != nil && (!path.IsAbs(v.HostPath.Path) || path.Clean(v.HostPath.Path) != v.HostPath.Path) {
			return fmt.Errorf("%s.hostPath.path %q: not a clean absolute path", where, v.HostPath.Path)
		}
		if v.EmptyDir != nil && v.EmptyDir.Medium != "" && v.EmptyDir.Medium != "Memory" {
			return fmt.Errorf("%s.emptyDir.medium %q (accepted: \"\" or Memory)", where, v.EmptyDir.Medium)
		}
		for _, items := range [][]KeyToPath{itemsOf(v)} {
			for j, it := range items {
				if err := checkItemPath(it.Path); err != nil {
					return fmt.Errorf("%s.items[%d].path: %w", where, j, err)
				}
			}
		}
	}
	names := map[string]bool{}
	for i, c := range s.Containers {
		where := fmt.Sprintf("%s.containers[%d]", at, i)
		if err := checkLabel(where+".name", c.Name); err != nil {
			return err
		}
		if names[c.Name] {
			return fmt.Errorf("%s.name %q: twice", where, c.Name)
		}
		names[c.Name] = true
		if c.Image == "" {
			return fmt.Errorf("%s.image: missing", where)
		}
		for j, p := range c.Ports {
			if p.ContainerPort < 1 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
				return fmt.Errorf("%s.ports[%d]: port out of 1-65535", where, j)
			}
			if err := checkProtocol(p.Protocol); err != nil {
				return fmt.Errorf("%s.ports[%d]: %w", where, j, err)
			}
		}
		for j, m := range c.VolumeMounts {
			if vols[m.Name] == nil {
				return fmt.Errorf("%s.volumeMounts[%d].name %q: no such volume in %s.volumes", where, j, m.Name, at)
			}
			if !path.IsAbs(m.MountPath) {
				return fmt.Errorf("%s.volumeMounts[%d].mountPath %q: not absolute", where, j, m.MountPath)
			}
			if m.SubPath != "" {
				return fmt.Errorf("%s.volumeMounts[%d].subPath: not supported", where, j)
			}
		}
		for j, e := range c.Env {
			if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
				return fmt.Errorf("%s.env[%d].name %q: not a variable name", where, j, e.Name)
			}
		}
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			return fmt.Errorf("%s.securityContext.privileged: dockah runs no privileged container (add the capabilities it needs)", where)
		}
	}
	return nil
}

func itemsOf(v *Volume) []KeyToPath {
	switch {
	case v.ConfigMap != nil:
		return v.ConfigMap.Items
	case v.Secret != nil:
		return v.Secret.Items
	}
	return nil
}

// checkItemPath checks the path of a key's file below its mount: it must
// stay below it.
func checkItemPath(p string) error {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "..") || strings.Contains(p, "\x00") {
		return fmt.Errorf("%q: not a clean relative path below the mount", p)
	}
	return nil
}

func checkProtocol(p string) error {
	switch p {
	case "", "TCP", "UDP":
		return nil
	}
	return fmt.Errorf("protocol %q (accepted: TCP, UDP)", p)
}

func validateService(s *Service) error {
	switch s.Spec.Type {
	case "", "ClusterIP", "NodePort", "LoadBalancer":
	default:
		return fmt.Errorf("spec.type %q (accepted: ClusterIP, NodePort, LoadBalancer)", s.Spec.Type)
	}
	if len(s.Spec.Ports) == 0 {
		return errors.New("spec.ports: none")
	}
	for i, p := range s.Spec.Ports {
		if p.Port < 1 || p.Port > 65535 || p.NodePort < 0 || p.NodePort > 65535 {
			return fmt.Errorf("spec.ports[%d]: port out of 1-65535", i)
		}
		if !p.TargetPort.IsString && (p.TargetPort.Int < 0 || p.TargetPort.Int > 65535) {
			return fmt.Errorf("spec.ports[%d].targetPort: out of 1-65535", i)
		}
		if err := checkProtocol(p.Protocol); err != nil {
			return fmt.Errorf("spec.ports[%d]: %w", i, err)
		}
	}
	return nil
}
