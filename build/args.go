package build

import (
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// proxyArgs may be given with --build-arg without an ARG: they reach
// RUN's environment but not the image's history, as in Docker.
var proxyArgs = []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
	"FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}

// platformArgs are the automatic ARGs BuildKit defines in the global
// scope (a stage sees one once it declares it with ARG NAME).
func platformArgs(target v1.Platform) map[string]string {
	p := func(pl v1.Platform) string {
		s := pl.OS + "/" + pl.Architecture
		if pl.Variant != "" {
			s += "/" + pl.Variant
		}
		return s
	}
	return map[string]string{
		"TARGETPLATFORM": p(target), "TARGETOS": target.OS, "TARGETARCH": target.Architecture, "TARGETVARIANT": target.Variant,
		"BUILDPLATFORM": p(target), "BUILDOS": target.OS, "BUILDARCH": target.Architecture, "BUILDVARIANT": target.Variant,
	}
}

// argScope is what ARG has declared: the global scope (ARGs before the
// first FROM, seen by FROM lines) or a stage's.
type argScope struct {
	// given are the --build-arg values; used records those an ARG took.
	given map[string]string
	used  map[string]bool
	// global holds the values of the ARGs before the first FROM and the
	// automatic platform ARGs; a stage's ARG NAME takes them.
	global map[string]string
	// names are the ARGs declared in this scope, in order; values those
	// with a value.
	names  []string
	values map[string]string
}

func newGlobalScope(given map[string]string, target v1.Platform) *argScope {
	s := &argScope{given: given, used: map[string]bool{}, global: platformArgs(target), values: map[string]string{}}
	return s
}

// stage returns a new stage scope under the global one.
func (s *argScope) stage() *argScope {
	return &argScope{given: s.given, used: s.used, global: s.global, values: map[string]string{}}
}

// declareGlobal runs an ARG before the first FROM, its default expanded
// with the global ARGs before it.
func (s *argScope) declareGlobal(c *instructions.ArgCommand, lex *shell.Lex) error {
	for _, a := range c.Args {
		v, ok, err := s.argValue(a, lex, envGetter(s.global))
		if err != nil {
			return err
		}
		s.names = append(s.names, a.Key)
		if ok {
			s.global[a.Key] = v
			s.values[a.Key] = v
		} else {
			delete(s.global, a.Key)
		}
	}
	return nil
}

// declare runs ARG in a stage whose expansion environment is env.
func (s *argScope) declare(c *instructions.ArgCommand, lex *shell.Lex, env shell.EnvGetter) error {
	for _, a := range c.Args {
		v, ok, err := s.argValue(a, lex, env)
		if err != nil {
			return err
		}
		if !slices.Contains(s.names, a.Key) {
			s.names = append(s.names, a.Key)
		}
		if ok {
			s.values[a.Key] = v
		} else if g, inGlobal := s.global[a.Key]; inGlobal {
			s.values[a.Key] = g
		}
	}
	return nil
}

// argValue is the value an ARG takes: --build-arg's, or its default
// expanded; ok is false for an ARG with neither.
func (s *argScope) argValue(a instructions.KeyValuePairOptional, lex *shell.Lex, env shell.EnvGetter) (string, bool, error) {
	if v, ok := s.given[a.Key]; ok {
		s.used[a.Key] = true
		return v, true, nil
	}
	if a.Value == nil {
		return "", false, nil
	}
	v, _, err := lex.ProcessWord(*a.Value, env)
	return v, err == nil, err
}

// runArgs are the ARGs in scope with a value, sorted, as KEY=VALUE: what
// RUN's history line lists and what its key covers.
func (s *argScope) runArgs() []string {
	var out []string
	for _, k := range s.names {
		if v, ok := s.values[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out)
	return out
}

// proxies are the proxy variables given with --build-arg.
func (s *argScope) proxies() []string {
	var out []string
	for _, k := range proxyArgs {
		if v, ok := s.given[k]; ok {
			s.used[k] = true
			out = append(out, k+"="+v)
		}
	}
	return out
}

// unused lists the --build-arg names no ARG took, sorted.
func (s *argScope) unused() []string {
	var out []string
	for k := range s.given {
		if !s.used[k] && !slices.Contains(proxyArgs, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// env is the expansion environment of a stage's instructions: the
// config's Env, and the ARGs in scope where Env does not set the name
// (ENV wins over ARG, as in Docker).
func (s *argScope) env(img *Image) envGetter {
	out := map[string]string{}
	for k, v := range s.values {
		out[k] = v
	}
	for _, kv := range img.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// runEnv is what RUN adds to the config's Env: the ARGs in scope (and
// proxies) whose names the config does not set.
func (s *argScope) runEnv(img *Image) []string {
	var out []string
	for _, kv := range append(s.runArgs(), s.proxies()...) {
		k, _, _ := strings.Cut(kv, "=")
		if _, set := lookupEnv(img.Config.Env, k); !set {
			out = append(out, kv)
		}
	}
	return out
}

// envGetter is a shell.EnvGetter over a map.
type envGetter map[string]string

func (e envGetter) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }

func (e envGetter) Keys() []string { return slices.Sorted(maps.Keys(e)) }
