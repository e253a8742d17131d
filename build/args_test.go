package build

import (
	"slices"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestArgScopes(t *testing.T) {
	f, err := Parse("Containerfile", []byte("ARG BASE=img\nARG TAG=$BASE-1\nARG GLOBAL_ONLY=g\nFROM $BASE:$TAG\nARG TAG\nARG LOCAL=l\nARG TARGETARCH\nARG UNSET\nRUN true\n"))
	if err != nil {
		t.Fatal(err)
	}
	lex := shell.NewLex(f.Escape)
	g := newGlobalScope(map[string]string{"BASE": "other", "EXTRA": "x", "HTTP_PROXY": "p"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	for i := range f.MetaArgs {
		if err := g.declareGlobal(&f.MetaArgs[i], lex); err != nil {
			t.Fatal(err)
		}
	}
	from, _, err := lex.ProcessWord(f.Stages[0].BaseName, envGetter(g.global))
	if err != nil || from != "other:other-1" {
		t.Errorf("FROM expands to %q, %v; want other:other-1 (--build-arg wins, later ARGs see earlier)", from, err)
	}
	s := g.stage()
	var img Image
	img.Config.Env = []string{"PATH=/bin", "LOCAL=from-env"}
	b := &builder{lex: lex}
	for _, c := range f.Stages[0].Commands {
		if err := scopeStep(b, s, &img, c); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s.runArgs(), []string{"LOCAL=l", "TAG=other-1", "TARGETARCH=arm64"}; !slices.Equal(got, want) {
		t.Errorf("run args %v, want %v (a stage sees a global ARG only once it declares it)", got, want)
	}
	if got, want := s.runEnv(&img), []string{"TAG=other-1", "TARGETARCH=arm64", "HTTP_PROXY=p"}; !slices.Equal(got, want) {
		t.Errorf("RUN's added environment %v, want %v (ENV wins over ARG)", got, want)
	}
	if got := g.unused(); !slices.Equal(got, []string{"EXTRA"}) {
		t.Errorf("unused build args %v, want [EXTRA]", got)
	}
}
