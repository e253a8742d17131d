package registries

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// manPageExample is the example of containers-registries.conf(5), with
// the other keys of the format added.
const manPageExample = `
unqualified-search-registries = ["example.com", "quay.io"]
short-name-mode = "enforcing"
credential-helpers = ["containers-auth.json"]

[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true
pull-from-mirror = "digest-only"

[[registry]]
location = "registry.example.org:5000/"   # trailing slash is dropped
insecure = true

[[registry]]
prefix = "*.corp.example"
blocked = true

[aliases]
"nginx" = "docker.io/library/nginx"
"tools/debug" = "quay.io/acme/debug"
"gone" = ""
`

func TestParse(t *testing.T) {
	got, err := Parse("registries.conf", []byte(manPageExample))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		UnqualifiedSearchRegistries: []string{"example.com", "quay.io"},
		ShortNameMode:               ShortNameEnforcing,
		Registries: []Registry{
			{Prefix: "*.corp.example", Blocked: true},
			{
				Prefix:   "example.com/foo",
				Location: "internal-registry-for-example.com/bar",
				Mirrors: []Mirror{
					{Location: "example-mirror-0.local/mirror-for-foo"},
					{Location: "example-mirror-1.local/mirrors/foo", Insecure: true, PullFromMirror: PullDigestOnly},
				},
			},
			{Prefix: "registry.example.org:5000", Location: "registry.example.org:5000", Insecure: true},
		},
		Aliases: map[string]string{"nginx": "docker.io/library/nginx", "tools/debug": "quay.io/acme/debug", "gone": ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestParseEmpty(t *testing.T) {
	for name, src := range map[string]string{"nothing": "", "comments": "# nothing\n\n", "empty search": "unqualified-search-registries = []"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse("r.conf", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Registries) != 0 || len(cfg.UnqualifiedSearchRegistries) != 0 {
				t.Errorf("got %+v", cfg)
			}
		})
	}
	cfg, _ := Parse("r.conf", []byte("unqualified-search-registries = []"))
	if cfg.UnqualifiedSearchRegistries == nil {
		t.Error("an explicitly empty unqualified-search-registries is nil: a drop-in could not clear the list")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // one line per diagnostic, in order
	}{{
		name: "v1 format",
		src:  "[registries.search]\nregistries = ['quay.io']\n",
		want: []string{"r.conf:1: registries: the v1 format ([registries.search], [registries.insecure], [registries.block]) is not supported (accepted: the v2 format of containers-registries.conf(5): unqualified-search-registries, [[registry]] with prefix, location, insecure, blocked)"},
	}, {
		name: "unknown keys at every level",
		src: `unqualified-search-registry = ["quay.io"]
[[registry]]
location = "quay.io"
insecur = true
[[registry.mirror]]
location = "m.local"
pull_from_mirror = "all"
`,
		want: []string{
			"r.conf:1: unqualified-search-registry: unknown key (accepted: unqualified-search-registries, short-name-mode, registry, aliases, credential-helpers, additional-layer-store-auth-helper)",
			"r.conf:4: registry.insecur: unknown key (accepted: prefix, location, insecure, blocked, mirror-by-digest-only, mirror)",
			"r.conf:7: registry.mirror.pull_from_mirror: unknown key (accepted: location, insecure, pull-from-mirror)",
		},
	}, {
		name: "the line of a value in the second table of an array",
		src: `[[registry]]
location = "a.example"
[[registry.mirror]]
location = "m1.local"
pull-from-mirror = "all"

[[registry]]
location = "b.example"
[[registry.mirror]]
location = "m2.local"
[[registry.mirror]]
location = "m3.local"
pull-from-mirror = "sometimes"
[[registry.mirror]]
location = "m4.local"
`,
		want: []string{`r.conf:13: registry.mirror.pull-from-mirror: "sometimes" is not a pull-from-mirror value (accepted: all, digest-only, tag-only)`},
	}, {
		name: "values",
		src: `short-name-mode = "prompt"
unqualified-search-registries = ["https://quay.io"]
[[registry]]
prefix = "quay.io/ns"
[[registry]]
prefix = "example.*.com"
location = "x.example"
[[registry]]
prefix = "*.example.com:5000"
[[registry]]
location = "http://plain.example"
[[registry]]
insecure = "yes"
location = "y.example"
`,
		want: []string{
			`r.conf:1: short-name-mode: "prompt" is not a mode (accepted: enforcing, permissive, disabled)`,
			`r.conf:2: unqualified-search-registries: "https://quay.io" is not a registry host (accepted: host[:port])`,
			`r.conf:3: registry.location: missing: only a wildcard prefix (*.example.com) may go without a location (accepted: location = "host[:port][/path]")`,
			`r.conf:6: registry.prefix: "example.*.com" is not a registry or repository (accepted: host[:port][/path][:tag|@digest])`,
			`r.conf:9: registry.prefix: "*.example.com:5000" is not a wildcard prefix (accepted: "*." and a host name, without port or path)`,
			`r.conf:11: registry.location: "http://plain.example" has a URL scheme (accepted: host[:port][/path])`,
			`r.conf:13: registry.insecure: want a boolean, found a string (accepted: true, false)`,
		},
	}, {
		name: "mirrors",
		src: `[[registry]]
location = "quay.io"
mirror-by-digest-only = true
pull-from-mirror = "all"
[[registry.mirror]]
insecure = true
[[registry.mirror]]
location = "m.local"
pull-from-mirror = "tag-only"
`,
		want: []string{
			`r.conf:3: registry.mirror-by-digest-only: cannot be combined with pull-from-mirror in the registry's mirrors (accepted: one of the two)`,
			`r.conf:4: registry.pull-from-mirror: only a [[registry.mirror]] table may set pull-from-mirror`,
			`r.conf:5: registry.mirror.location: a mirror needs a location (accepted: location = "host[:port][/path]")`,
		},
	}, {
		name: "aliases",
		src: `[aliases]
"quay.io/x" = "quay.io/x"
"img:tag" = "quay.io/img"
"ok" = "quay.io/img:1"
"short" = "img"
`,
		want: []string{
			`r.conf:2: aliases."quay.io/x": "quay.io/x" is not a short name (accepted: a repository path without registry, tag or digest)`,
			`r.conf:3: aliases."img:tag": "img:tag" is not a short name (accepted: a repository path without registry, tag or digest)`,
			`r.conf:4: aliases.ok: "quay.io/img:1" is not a fully qualified repository (accepted: host/path without tag or digest, or "" to erase the alias)`,
			`r.conf:5: aliases.short: "img" is not a fully qualified repository (accepted: host/path without tag or digest, or "" to erase the alias)`,
		},
	}, {
		name: "syntax",
		src:  "[[registry]]\nlocation = \"quay.io\"\ninsecure = tru\n",
		want: []string{`r.conf:3: registry.insecure: expected value but found "tru" instead`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("r.conf", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var d *Diagnostic
			if !errors.As(err, &d) || d.File != "r.conf" {
				t.Errorf("error %v is not a *Diagnostic naming r.conf", err)
			}
		})
	}
}

func TestParseDuplicatePrefixFirstWins(t *testing.T) {
	cfg, err := Parse("r.conf", []byte(`
[[registry]]
location = "quay.io"
insecure = true
[[registry]]
prefix = "quay.io"
location = "mirror.local"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Registry{{Prefix: "quay.io", Location: "quay.io", Insecure: true}}
	if diff := cmp.Diff(want, cfg.Registries); diff != "" {
		t.Errorf("registries (-want +got):\n%s", diff)
	}
}

func TestParseInlineTables(t *testing.T) {
	cfg, err := Parse("r.conf", []byte(`
registry = [
  { location = "quay.io", mirror = [{ location = "m.local", insecure = true }] },
]
aliases = { tools = "quay.io/acme/tools" }
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Registries: []Registry{{Prefix: "quay.io", Location: "quay.io", Mirrors: []Mirror{{Location: "m.local", Insecure: true}}}},
		Aliases:    map[string]string{"tools": "quay.io/acme/tools"},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	_, err = Parse("r.conf", []byte("registry = [\n  { location = \"quay.io\", mirror = [{ locaton = \"m\" }] },\n]\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "r.conf:1: registry.mirror.locaton: unknown key") {
		t.Errorf("inline unknown key: got %v, want it on the line of the array", err)
	}
}
