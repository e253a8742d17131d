package registries

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const findConf = `
[[registry]]
location = "example.com"
[[registry]]
prefix = "example.com/foo"
location = "internal.example.net/bar"
[[registry]]
prefix = "example.com/foo/baz:v1"
location = "pinned.example.net/baz"
[[registry]]
location = "example.com:5000"
insecure = true
[[registry]]
prefix = "*.example.org"
[[registry]]
prefix = "*.b.example.org"
location = "deeper.example.net"
[[registry]]
prefix = "a.example.org"
location = "exact.example.net"
[[registry]]
prefix = "docker.io/library/alpine"
location = "hub-cache.local/alpine"
`

func TestFind(t *testing.T) {
	cfg, err := Parse("find.conf", []byte(findConf))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ ref, prefix string }{
		{"example.com/foo/img:latest", "example.com/foo"},
		{"example.com/foo", "example.com/foo"},
		{"example.com/foo@sha256:abc", "example.com/foo"},
		{"example.com/foobar/img", "example.com"}, // not on a component boundary
		{"example.com/foo/baz:v1", "example.com/foo/baz:v1"},
		{"example.com/foo/baz:v1@sha256:abc", "example.com/foo/baz:v1"},
		{"example.com/foo/baz:v2", "example.com/foo"},
		{"example.com:5000/x", "example.com:5000"},
		{"example.com:5001/x", ""}, // another port is another registry
		{"example.comx/y", ""},
		{"x.example.org/y", "*.example.org"},
		{"deep.x.example.org:443/y", "*.example.org"},
		{"c.b.example.org/y", "*.b.example.org"}, // the longer wildcard
		{"a.example.org/y", "a.example.org"},     // an exact host beats a wildcard of the same length
		{"example.org/y", ""},                    // the wildcard wants a subdomain
		{"evilexample.org/y", ""},
		{"x.example.org.evil/y", ""},
		{"docker.io/alpine:3", "docker.io/library/alpine"},
		{"index.docker.io/library/alpine", "docker.io/library/alpine"},
		{"quay.io/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r, ok := cfg.Find(tt.ref)
			if ok != (tt.prefix != "") || r.Prefix != tt.prefix {
				t.Errorf("Find(%q) = %q, %v; want %q", tt.ref, r.Prefix, ok, tt.prefix)
			}
		})
	}
}

const endpointsConf = `
[[registry]]
prefix = "example.com/foo"
location = "internal.example.net/bar"
insecure = true
[[registry.mirror]]
location = "m-all.local/foo"
[[registry.mirror]]
location = "m-digest.local/foo"
pull-from-mirror = "digest-only"
insecure = true
[[registry.mirror]]
location = "m-tag.local/foo"
pull-from-mirror = "tag-only"

[[registry]]
location = "quay.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "quay-mirror.local"

[[registry]]
prefix = "*.corp.example"
[[registry.mirror]]
location = "corp-mirror.local"

[[registry]]
location = "evil.example"
blocked = true
`

func TestEndpoints(t *testing.T) {
	cfg, err := Parse("ep.conf", []byte(endpointsConf))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		ref      string
		byDigest bool
		want     []Endpoint
	}{{
		name: "by tag: all and tag-only mirrors, then the rewritten location",
		ref:  "example.com/foo/img:1",
		want: []Endpoint{
			{Reference: "m-all.local/foo/img:1", Mirror: true},
			{Reference: "m-tag.local/foo/img:1", Mirror: true},
			{Reference: "internal.example.net/bar/img:1", Insecure: true},
		},
	}, {
		name:     "by digest: all and digest-only mirrors",
		ref:      "example.com/foo/img@sha256:abc",
		byDigest: true,
		want: []Endpoint{
			{Reference: "m-all.local/foo/img@sha256:abc", Mirror: true},
			{Reference: "m-digest.local/foo/img@sha256:abc", Insecure: true, Mirror: true},
			{Reference: "internal.example.net/bar/img@sha256:abc", Insecure: true},
		},
	}, {
		name: "mirror-by-digest-only skips the mirrors for a tag",
		ref:  "quay.io/ns/img:1",
		want: []Endpoint{{Reference: "quay.io/ns/img:1"}},
	}, {
		name:     "mirror-by-digest-only uses them for a digest",
		ref:      "quay.io/ns/img@sha256:abc",
		byDigest: true,
		want:     []Endpoint{{Reference: "quay-mirror.local/ns/img@sha256:abc", Mirror: true}, {Reference: "quay.io/ns/img@sha256:abc"}},
	}, {
		name: "a wildcard rewrites the host for its mirrors only",
		ref:  "git.corp.example/team/app:2",
		want: []Endpoint{{Reference: "corp-mirror.local/team/app:2", Mirror: true}, {Reference: "git.corp.example/team/app:2"}},
	}, {
		name: "no table: the reference itself",
		ref:  "ghcr.io/x/y:1",
		want: []Endpoint{{Reference: "ghcr.io/x/y:1"}},
	}, {
		name: "docker hub names are normalized",
		ref:  "index.docker.io/alpine:3",
		want: []Endpoint{{Reference: "docker.io/library/alpine:3"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cfg.Endpoints(tt.ref, tt.byDigest)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Endpoints(%q, %v) (-want +got):\n%s", tt.ref, tt.byDigest, diff)
			}
		})
	}
}

func TestEndpointsBlocked(t *testing.T) {
	cfg, err := Parse("ep.conf", []byte(endpointsConf))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Endpoints("evil.example/x:1", false)
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("got %v, want ErrBlocked", err)
	}
	if want := `pull evil.example/x:1: blocked by registries.conf (prefix "evil.example")`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
