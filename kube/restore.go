package kube

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

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
