package registries

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const (
	mainConf  = "etc/containers/registries.conf"
	dropinDir = "etc/containers/registries.conf.d"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		mainConf: {Data: []byte(`
unqualified-search-registries = ["registry.fedoraproject.org", "docker.io"]
[[registry]]
location = "quay.io"
[[registry]]
location = "docker.io"
[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"nginx" = "docker.io/library/nginx"
"ubi" = "registry.access.redhat.com/ubi9"
`)},
		dropinDir + "/000-shortnames.conf": {Data: []byte(`
[aliases]
"nginx" = "quay.io/nginx/nginx-unprivileged"
"alpine" = "docker.io/library/alpine"
`)},
		dropinDir + "/10-mirror.conf": {Data: []byte(`
short-name-mode = "enforcing"
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "mirror.local"
`)},
		dropinDir + "/20-search.conf": {Data: []byte(`
unqualified-search-registries = ["quay.io"]
[aliases]
"ubi" = ""
`)},
		dropinDir + "/30-not-a-conf.bak": {Data: []byte("this is not toml")},
		dropinDir + "/sub.conf/x.conf":   {Data: []byte("this is not toml")},
	}
	got, err := Load(fsys, mainConf, dropinDir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		UnqualifiedSearchRegistries: []string{"quay.io"},
		ShortNameMode:               ShortNameEnforcing,
		Registries: []Registry{
			{Prefix: "docker.io", Location: "docker.io", Mirrors: []Mirror{{Location: "mirror.local"}}},
			{Prefix: "quay.io", Location: "quay.io"},
		},
		Aliases: map[string]string{
			"alpine": "docker.io/library/alpine",
			"fedora": "registry.fedoraproject.org/fedora",
			"nginx":  "quay.io/nginx/nginx-unprivileged",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

func TestLoadMissing(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want *Config
	}{
		{"nothing at all", fstest.MapFS{}, &Config{}},
		{"drop-ins without a main file", fstest.MapFS{
			dropinDir + "/a.conf": {Data: []byte(`unqualified-search-registries = ["quay.io"]`)},
		}, &Config{UnqualifiedSearchRegistries: []string{"quay.io"}}},
		{"an empty list clears", fstest.MapFS{
			mainConf:              {Data: []byte(`unqualified-search-registries = ["quay.io"]`)},
			dropinDir + "/a.conf": {Data: []byte(`unqualified-search-registries = []`)},
		}, &Config{UnqualifiedSearchRegistries: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.fsys, mainConf, dropinDir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadReportsEveryFile(t *testing.T) {
	fsys := fstest.MapFS{
		mainConf:              {Data: []byte("[registries.search]\nregistries = []\n")},
		dropinDir + "/a.conf": {Data: []byte("short-name-mode = \"loud\"\n")},
		dropinDir + "/b.conf": {Data: []byte("unqualified-search-registries = [\"quay.io\"]\n")},
	}
	_, err := Load(fsys, mainConf, dropinDir)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 ||
		!strings.HasPrefix(lines[0], mainConf+":1: registries: the v1 format") ||
		!strings.HasPrefix(lines[1], dropinDir+"/a.conf:1: short-name-mode: \"loud\" is not a mode") {
		t.Errorf("got:\n%v", err)
	}
}
