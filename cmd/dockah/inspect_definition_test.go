package main

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"CPUQuota": "cpu_quota", "SELinuxType": "selinux_type", "IOWeight": "io_weight", "NoNewPrivileges": "no_new_privileges",
		"UserNSSize": "userns_size", "UserNS": "userns",
		"MemorySwapMax": "memory_swap_max", "WantedBy": "wanted_by", "Image": "image", "SourcePath": "source_path", "EnvironmentFiles": "environment_files",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefinitionJSON(t *testing.T) {
	def := parseDefinition(t, "web", `[container]
image = "nginx:1.25"
entrypoint = []
environment = { TZ = "UTC" }
read_only = true

[[socket]]
listen = "127.0.0.1:8080"
port = 80

[[tmpfs]]
target = "/cache"
mode = "0700"

[resources]
memory_max = "512M"
tasks_max = "infinity"
cpu_quota = "50%"

[security]
selinux_type = "spc_t"

[service]
stop_timeout = "90s"
wanted_by = ["multi-user.target"]

[systemd.service]
Nice = 5
`)
	data, err := json.Marshal(definitionJSON(def))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"container": map[string]any{
			"image": "nginx:1.25", "entrypoint": []any{}, "environment": map[string]any{"TZ": "UTC"}, "read_only": true,
			"ephemeral": false, "notify": false, "init": false, "network": "none", "pull": "missing",
		},
		"socket":    []any{map[string]any{"listen": "127.0.0.1:8080", "port": float64(80), "type": "stream"}},
		"tmpfs":     []any{map[string]any{"target": "/cache", "mode": "0700"}},
		"resources": map[string]any{"memory_max": float64(512 << 20), "tasks_max": "infinity", "cpu_quota": float64(50)},
		"security":  map[string]any{"selinux_type": "spc_t", "no_new_privileges": true, "seccomp": "default", "unit_sandbox": "shim", "userns": "auto", "userns_size": float64(65536)},
		"service":   map[string]any{"stop_timeout": "1m30s", "wanted_by": []any{"multi-user.target"}},
		"systemd":   map[string]any{"service": []any{map[string]any{"key": "Nice", "value": "5"}}},
	}
	for _, k := range []string{"name", "source_path"} {
		if got[k] == nil {
			t.Errorf("no %q in %s", k, data)
		}
		delete(got, k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("definition JSON (-want +got):\n%s", diff)
	}
}
