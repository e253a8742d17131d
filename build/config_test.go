package build

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// applyLines runs the config-only instructions of a stage on base, as
// the builder does (expanded with the stage's ENV and ARGs).
func applyLines(t *testing.T, base Image, given map[string]string, lines string) Image {
	t.Helper()
	f, err := Parse("Containerfile", []byte("FROM scratch\n"+lines))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := baseImage(base)
	scope := newGlobalScope(given, v1.Platform{OS: "linux", Architecture: "amd64"}).stage()
	lex := shell.NewLex(f.Escape)
	b := &builder{lex: lex}
	ss := &stageState{}
	for _, c := range f.Stages[0].Commands {
		if err := scopeStep(b, scope, &img, c); err != nil {
			t.Fatal(err)
		}
		if _, err := applyConfig(&img, ss, c); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func TestApplyConfig(t *testing.T) {
	var base Image
	base.Config.Cmd = []string{"/bin/base"}
	base.Config.Env = []string{"PATH=/bin", "FROM_BASE=1"}
	base.Config.OnBuild = []string{"RUN true"}
	for _, tc := range []struct {
		name  string
		lines string
		args  map[string]string
		want  func(c *dockerspec.DockerOCIImageConfig)
	}{
		{"env and arg", "ARG V=1\nENV A=a$V B=\"x y\" C=${FROM_BASE}c\n", nil, func(c *dockerspec.DockerOCIImageConfig) {
			c.Env = append(c.Env, "A=a1", "B=x y", "C=1c")
		}},
		{"build arg overrides the default", "ARG V=1\nENV A=$V\n", map[string]string{"V": "2"}, func(c *dockerspec.DockerOCIImageConfig) {
			c.Env = append(c.Env, "A=2")
		}},
		{"env wins over arg", "ENV V=env\nARG V=arg\nLABEL v=$V\n", nil, func(c *dockerspec.DockerOCIImageConfig) {
			c.Env = append(c.Env, "V=env")
			c.Labels = map[string]string{"v": "env"}
		}},
		{"env replaces", "ENV FROM_BASE=2\n", nil, func(c *dockerspec.DockerOCIImageConfig) { c.Env[1] = "FROM_BASE=2" }},
		{"workdir", "WORKDIR /a\nWORKDIR b\nWORKDIR ../c\n", nil, func(c *dockerspec.DockerOCIImageConfig) { c.WorkingDir = "/a/c" }},
		{"expose", "ARG P=8080\nEXPOSE 80 53/udp $P 9000-9001/tcp\n", nil, func(c *dockerspec.DockerOCIImageConfig) {
			c.ExposedPorts = map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8080/tcp": {}, "9000-9001/tcp": {}}
		}},
		{"volume, user, stop signal", "VOLUME /data [\"/v2\"]\nVOLUME [\"/v3\", \"/v4\"]\nUSER app:app\nSTOPSIGNAL SIGQUIT\n", nil, func(c *dockerspec.DockerOCIImageConfig) {
			// Not JSON as a whole: words, quotes removed, as Buildah writes it.
			c.Volumes = map[string]struct{}{"/data": {}, "[/v2]": {}, "/v3": {}, "/v4": {}}
			c.User, c.StopSignal = "app:app", "SIGQUIT"
		}},
		{"entrypoint clears the base's cmd", "ENTRYPOINT [\"/app\"]\n", nil, func(c *dockerspec.DockerOCIImageConfig) {
			c.Entrypoint, c.Cmd = []string{"/app"}, nil
		}},
		{"entrypoint keeps this stage's cmd", "CMD [\"-v\"]\nENTRYPOINT /app run\n", nil, func(c *dockerspec.DockerOCIImageConfig) {
			c.Entrypoint, c.Cmd = []string{"/bin/sh", "-c", "/app run"}, []string{"-v"}
		}},
		{"shell form with SHELL", "SHELL [\"/bin/bash\", \"-ec\"]\nCMD echo $HOME\n", nil, func(c *dockerspec.DockerOCIImageConfig) {
			c.Shell, c.Cmd = []string{"/bin/bash", "-ec"}, []string{"/bin/bash", "-ec", "echo $HOME"}
		}},
		{"healthcheck and onbuild", "HEALTHCHECK --interval=5s CMD true\nONBUILD RUN echo child\n", nil, func(c *dockerspec.DockerOCIImageConfig) {
			c.Healthcheck = &dockerspec.HealthcheckConfig{Test: []string{"CMD-SHELL", "true"}, Interval: 5e9}
			c.OnBuild = []string{"RUN echo child"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := applyLines(t, base, tc.args, tc.lines)
			want, _ := baseImage(base)
			want = cloneImage(want)
			tc.want(&want.Config)
			if diff := cmp.Diff(want.Config, got.Config, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaseImage(t *testing.T) {
	var base Image
	base.Config.OnBuild = []string{"RUN a"}
	img, triggers := baseImage(base)
	if diff := cmp.Diff([]string{DefaultPath}, img.Config.Env); diff != "" {
		t.Errorf("PATH of a base without one (-want +got):\n%s", diff)
	}
	if len(img.Config.OnBuild) != 0 || len(triggers) != 1 {
		t.Errorf("triggers %v, left in the config %v", triggers, img.Config.OnBuild)
	}
	if len(base.Config.OnBuild) != 1 {
		t.Error("baseImage changed its argument")
	}
}

func TestExposeAndSignalErrors(t *testing.T) {
	for _, bad := range [][]string{{"0"}, {"70000"}, {"80/icmp"}, {"90-80"}, {"x"}} {
		if _, err := exposedPorts(bad); err == nil {
			t.Errorf("EXPOSE %v accepted", bad)
		}
	}
	for _, s := range []string{"SIGTERM", "quit", "9", "SIGRTMIN+3"} {
		if err := checkSignal(s); err != nil {
			t.Errorf("STOPSIGNAL %s: %v", s, err)
		}
	}
	for _, s := range []string{"0", "99", "SIG", "a b"} {
		if err := checkSignal(s); err == nil {
			t.Errorf("STOPSIGNAL %q accepted", s)
		}
	}
}
