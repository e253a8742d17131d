package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	godbus "github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
)

func TestLifecycleUnits(t *testing.T) {
	root := sysroot(t, map[string]string{
		"web.toml": `[container]
image = "web:1"

[[socket]]
listen = "8080"

[[socket]]
listen = "8443"

[[socket]]
listen = "9090"
name = "admin"
`,
		"worker.toml": "[container]\nimage = \"worker:2\"\npull = \"never\"\n",
		"api@.toml":   "[container]\nimage = \"api:1\"\n\n[[socket]]\nlisten = \"9000\"\n",
	})
	tests := []struct {
		name    string
		stop    bool
		want    containerUnits
		wantErr string
	}{
		{name: "web", want: containerUnits{Service: "web.service", Sockets: []string{"web.socket", "web-admin.socket"}, Pull: "dockah-pull@web.service"}},
		{name: "worker", want: containerUnits{Service: "worker.service"}},
		{name: "api@blue", want: containerUnits{Service: "api@blue.service", Sockets: []string{"api@blue.socket"}, Pull: "dockah-pull@api@blue.service"}},
		{name: "gone", stop: true, want: containerUnits{Service: "gone.service"}},
		{name: "gone", wantErr: "no container gone: no gone.toml in /etc/dockah/containers"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s stop=%v", tt.name, tt.stop), func(t *testing.T) {
			got, err := lifecycleUnits(root, tt.name, tt.stop)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("units (-want +got):\n%s", diff)
			}
		})
	}
}

// TestContainerUnitsAll: start and restart reset every unit of the
// container, the service first.
func TestContainerUnitsAll(t *testing.T) {
	u := containerUnits{Service: "web.service", Sockets: []string{"web.socket", "web-admin.socket"}, Pull: "dockah-pull@web.service"}
	want := []string{"web.service", "web.socket", "web-admin.socket", "dockah-pull@web.service"}
	if diff := cmp.Diff(want, u.all()); diff != "" {
		t.Errorf("all (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"worker.service"}, containerUnits{Service: "worker.service"}.all()); diff != "" {
		t.Errorf("all without sockets and pull (-want +got):\n%s", diff)
	}
}

// TestServiceFailure: the properties are as systemd sends them over
// D-Bus (ExecMainCode and ExecMainStatus are int32).
func TestServiceFailure(t *testing.T) {
	props := func(result string, code, status int32) map[string]any {
		return map[string]any{"Result": result, "ExecMainCode": code, "ExecMainStatus": status}
	}
	tests := []struct {
		desc  string
		props map[string]any
		want  string
	}{
		{"exited 1", props("exit-code", cldExited, 1), "main process exited with status 1, result exit-code"},
		{"the shim could not start it", props("exit-code", cldExited, 125), "main process exited with status 125, result exit-code"},
		{"killed", props("signal", cldKilled, 9), "main process killed by signal SIGKILL, result signal"},
		{"dumped core", props("core-dump", cldDumped, 11), "main process killed by signal SIGSEGV, result core-dump"},
		{"unnamed signal", props("signal", cldKilled, 77), "main process killed by signal 77, result signal"},
		// A result that no process made: the exit status is of an
		// earlier run, and left out.
		{"timeout", props("timeout", cldExited, 1), "result timeout"},
		{"start limit", props("start-limit-hit", cldExited, 1), "result start-limit-hit"},
		{"oom", props("oom-kill", cldKilled, 9), "result oom-kill"},
		{"success", props("success", cldExited, 0), ""},
		{"no properties", map[string]any{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := serviceFailure(tt.props); got != tt.want {
				t.Errorf("serviceFailure = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsNoSuchUnit(t *testing.T) {
	noSuch := godbus.Error{Name: noSuchUnit, Body: []any{"Unit dockah-pull@web.service not loaded."}}
	tests := []struct {
		err  error
		want bool
	}{
		{noSuch, true},
		{&noSuch, true},
		{fmt.Errorf("reset: %w", noSuch), true},
		{godbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied"}, false},
		{errors.New(noSuchUnit), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := isNoSuchUnit(tt.err); got != tt.want {
			t.Errorf("isNoSuchUnit(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestContainerOfUnit(t *testing.T) {
	for unit, want := range map[string]string{"web.service": "web", "web.socket": "web", "web@blue.service": "web@blue", "web": "web"} {
		if got := containerOfUnit(unit); got != want {
			t.Errorf("containerOfUnit(%q) = %q, want %q", unit, got, want)
		}
	}
}
