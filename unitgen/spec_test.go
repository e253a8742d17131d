package unitgen

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/dockah/dockah/internal/imageconfig"
)

func TestMergeArgsLikeDocker(t *testing.T) {
	image := imageconfig.Config{Entrypoint: []string{"/entry"}, Cmd: []string{"-default"}}
	for _, tc := range []struct {
		name string
		c    Container
		want []string
	}{
		{"image", Container{}, []string{"/entry", "-default"}},
		{"command replaces cmd", Container{Command: Argv{Set: true, Args: []string{"-x"}}}, []string{"/entry", "-x"}},
		{"entrypoint drops the image cmd", Container{Entrypoint: Argv{Set: true, Args: []string{"/other"}}}, []string{"/other"}},
		{"both", Container{Entrypoint: Argv{Set: true, Args: []string{"/other"}}, Command: Argv{Set: true, Args: []string{"a"}}}, []string{"/other", "a"}},
		{"empty entrypoint clears it", Container{Entrypoint: Argv{Set: true}, Command: Argv{Set: true, Args: []string{"/bin/sh"}}}, []string{"/bin/sh"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mergeArgs(tc.c, image)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := mergeArgs(Container{Entrypoint: Argv{Set: true}}, image); err == nil {
		t.Error("an empty entrypoint and no command must be an error")
	}
}

func TestEnvironmentLayers(t *testing.T) {
	def := &Definition{Name: "web", Container: Container{
		Image:            "x",
		Environment:      map[string]string{"B": "def", "D": "def"},
		EnvironmentFiles: []string{"/etc/web.env"},
	}}
	in := SpecInput{
		Image:    imageconfig.Config{Env: []string{"PATH=/bin", "A=image", "B=image", "C=image"}, Cmd: []string{"/x"}},
		EnvFiles: [][]byte{[]byte("# comment\n\nC=file\nB=file\n")},
	}
	spec, err := Spec(def, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/bin", "A=image", "B=def", "C=file", "D=def"}
	if diff := cmp.Diff(want, spec.Process.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	in.EnvFiles = [][]byte{[]byte("OK=1\nnot a pair\n")}
	_, err = Spec(def, in)
	if err == nil || !strings.Contains(err.Error(), "/etc/web.env:2:") {
		t.Errorf("bad env file: %v, want an error naming /etc/web.env:2", err)
	}
}

func TestSpecFromDefinition(t *testing.T) {
	def := &Definition{Name: "web@blue", Container: Container{
		Image: "nginx", WorkingDir: "/srv", User: "www-data", ReadOnly: true, Network: NetworkHost,
	}, Volumes: []Volume{{Source: "data", Target: "/data"}, {Source: "/srv/www", Target: "/www", ReadOnly: true},
		{Source: "/srv/up", Target: "/up", Chown: true}, {Source: "/srv/ro", Target: "/ro", HostIDs: true}},
		Tmpfs:     []Tmpfs{{Target: "/run", Size: 1 << 20}},
		Security:  Security{NoNewPrivileges: true},
		Resources: Resources{MemoryMax: 1 << 30, TasksMax: 64, CPUQuota: 50},
	}
	spec, err := Spec(def, SpecInput{Image: imageconfig.Config{Cmd: []string{"nginx"}, WorkingDir: "/"}, VolumeDir: "/var/lib/dockah/volumes"})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Hostname != "web-blue" || spec.Process.Cwd != "/srv" || spec.Process.User.Username != "www-data" || !spec.Root.Readonly || !spec.Process.NoNewPrivileges {
		t.Errorf("process/root: %+v %+v %q", spec.Process, spec.Root, spec.Hostname)
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			t.Error("network = host must not get a network namespace")
		}
	}
	var got []string
	for _, m := range spec.Mounts[len(defaultMounts()):] {
		got = append(got, m.Type+" "+m.Source+" "+m.Destination+" "+strings.Join(m.Options, ","))
	}
	want := []string{
		"tmpfs tmpfs /run nosuid,nodev,mode=1777,size=1048576",
		"bind /var/lib/dockah/volumes/data/_data /data rbind,nosuid,nodev",
		"bind /srv/www /www rbind,nosuid,nodev,ro",
		"bind /srv/up /up rbind,nosuid,nodev,x-dockah.chown,x-dockah.noidmap",
		"bind /srv/ro /ro rbind,nosuid,nodev,x-dockah.noidmap",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	if r := spec.Linux.Resources; r == nil || *r.Memory.Limit != 1<<30 || *r.Pids.Limit != 64 || *r.CPU.Quota != 50000 {
		t.Errorf("resources %+v", r)
	}
}
