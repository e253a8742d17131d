package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dockah/dockah/rootfs"
)

// buildStage builds stage i, whose dependencies are built.
func (b *builder) buildStage(ctx context.Context, i int) error {
	s := &b.o.File.Stages[i]
	b.startStep(s.SourceCode)
	st, triggers, err := b.from(ctx, s, i)
	if err != nil {
		return b.o.File.errorAt(s.Location, err)
	}
	scope := b.global.stage()
	ss := &stageState{}
	for _, t := range triggers {
		c, err := parseTrigger(t)
		if err != nil {
			return b.o.File.errorAt(s.Location, fmt.Errorf("ONBUILD trigger of the base image %q: %w", t, err))
		}
		b.printf("ONBUILD: %s\n", firstLine(t))
		if st, err = b.dispatch(ctx, st, scope, ss, c, i); err != nil {
			return b.o.File.errorAt(s.Location, err)
		}
	}
	for _, c := range s.Commands {
		b.startStep(commandCode(c))
		if st, err = b.dispatch(ctx, st, scope, ss, c, i); err != nil {
			var le *LineError
			if errors.As(err, &le) {
				return err
			}
			return b.o.File.errorAt(c.Location(), err)
		}
	}
	b.stages[i] = st
	return nil
}

// commandCode is an instruction as written.
func commandCode(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return c.Name()
}

// parseTrigger parses an ONBUILD trigger as one line of a Containerfile.
func parseTrigger(t string) (instructions.Command, error) {
	res, err := parser.Parse(strings.NewReader(t))
	if err != nil {
		return nil, err
	}
	if len(res.AST.Children) != 1 {
		return nil, errors.New("not one instruction")
	}
	parsed, err := instructions.ParseInstruction(res.AST.Children[0])
	if err != nil {
		return nil, err
	}
	c, ok := parsed.(instructions.Command)
	if _, onbuild := parsed.(*instructions.OnbuildCommand); !ok || onbuild {
		return nil, errors.New("FROM and ONBUILD cannot be ONBUILD triggers")
	}
	return c, supported(c)
}

// from starts stage i: scratch, an earlier stage, or an image.
func (b *builder) from(ctx context.Context, s *instructions.Stage, i int) (*state, []string, error) {
	name, err := b.expandGlobal(s.BaseName)
	if err != nil {
		return nil, nil, err
	}
	if s.Platform != "" {
		p, err := b.expandGlobal(s.Platform)
		if err != nil {
			return nil, nil, err
		}
		if err := checkPlatform(parsePlatform(p)); err != nil {
			return nil, nil, fmt.Errorf("FROM --platform=%s: %w", p, err)
		}
	}
	var raw []byte
	switch j, isStage := b.stageBefore(name, i); {
	case isStage:
		raw = b.stages[j].raw
	case strings.EqualFold(name, "scratch"):
		raw = mustMarshal(scratchImage(b.o.Platform))
	default:
		img, err := b.o.Base(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		raw = img.RawConfig
	}
	base, err := ParseImage(raw)
	if err != nil {
		return nil, nil, err
	}
	cfg, triggers := baseImage(base)
	st := &state{cfg: cfg, raw: mustMarshal(cfg)}
	img, err := b.o.Store.AddImage(st.raw, nil)
	if err != nil {
		return nil, nil, err
	}
	st.id = img.ID
	// Recorded as the cache's, so that image ls takes it for an
	// intermediate image, as the steps' images.
	if err := b.o.Store.SetCachedImage(Key(st.id, "FROM", nil, ""), st.id); err != nil {
		return nil, nil, err
	}
	b.printf("--> %s\n", shortID(st.id))
	return st, triggers, nil
}

// parsePlatform reads OS/ARCH[/VARIANT].
func parsePlatform(s string) v1.Platform {
	parts := strings.SplitN(s, "/", 3)
	p := v1.Platform{OS: parts[0]}
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p
}

// dispatch runs one instruction of stage i on st.
func (b *builder) dispatch(ctx context.Context, st *state, scope *argScope, ss *stageState, c instructions.Command, i int) (*state, error) {
	code := commandCode(c)
	if err := scopeStep(b, scope, &st.cfg, c); err != nil {
		return nil, err
	}
	args := scope.runArgs()
	switch c := c.(type) {
	case *instructions.RunCommand:
		return b.run(ctx, st, scope, c, code, args)
	case *instructions.CopyCommand:
		return b.copy(st, c.SourcesAndDest, copyFlags{instr: "COPY", from: c.From, chown: c.Chown, chmod: c.Chmod}, code, args, i)
	case *instructions.WorkdirCommand:
		return b.workdir(st, ss, c, code, args)
	case *instructions.AddCommand:
		return b.copy(st, c.SourcesAndDest, copyFlags{instr: "ADD", chown: c.Chown, chmod: c.Chmod, unpack: c.Unpack == nil || *c.Unpack}, code, args, i)
	}
	return b.cached(st, code, args, "", func() (*state, error) {
		cfg := cloneImage(st.cfg)
		known, err := applyConfig(&cfg, ss, c)
		if err != nil {
			return nil, err
		}
		if !known {
			return nil, fmt.Errorf("%s is not supported", strings.ToUpper(c.Name()))
		}
		return b.store(cfg, configHistory(code), "")
	}, func() { applyStageState(ss, c) })
}

// scopeStep declares an ARG in scope, or expands the words of another
// instruction with the stage's ENV and ARGs.
func scopeStep(b *builder, scope *argScope, img *Image, c instructions.Command) error {
	env := scope.env(img)
	if arg, ok := c.(*instructions.ArgCommand); ok {
		return scope.declare(arg, b.lex, env)
	}
	return b.expand(c, env)
}

// applyStageState keeps the stage's own state right when a step comes
// from the cache.
func applyStageState(ss *stageState, c instructions.Command) {
	if _, ok := c.(*instructions.CmdCommand); ok {
		ss.cmdSet = true
	}
}

// expand expands the words of an instruction that takes variables, with
// env.
func (b *builder) expand(c instructions.Command, env envGetter) error {
	word := func(w string) (string, error) {
		s, _, err := b.lex.ProcessWord(w, env)
		return s, err
	}
	if e, ok := c.(*instructions.ExposeCommand); ok {
		var ports []string
		for _, p := range e.Ports {
			words, err := b.lex.ProcessWords(p, env)
			if err != nil {
				return err
			}
			ports = append(ports, words...)
		}
		e.Ports = ports
		return nil
	}
	if _, ok := c.(*instructions.RunCommand); ok {
		return nil // the shell expands its command line
	}
	if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if err := e.Expand(word); err != nil {
			return err
		}
	}
	if e, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
		return e.ExpandRaw(word)
	}
	return nil
}

// cached returns the image the step of (parent, code, args, content)
// made before, or makes it with do and records it. after, if given,
// runs either way.
func (b *builder) cached(st *state, code string, args []string, content string, do func() (*state, error), after ...func()) (*state, error) {
	for _, f := range after {
		f()
	}
	key := Key(st.id, code, args, content)
	if !b.o.NoCache {
		if img, err := b.o.Store.CachedImage(key); err == nil {
			cfg, err := ParseImage(img.RawConfig)
			if err == nil {
				b.printf("--> Using cache %s\n", strings.TrimPrefix(img.ID, "sha256:"))
				b.printf("--> %s\n", shortID(img.ID))
				return &state{id: img.ID, raw: img.RawConfig, cfg: cfg}, nil
			}
		} else if !errors.Is(err, rootfs.ErrNotFound) {
			return nil, err
		}
	}
	next, err := do()
	if err != nil {
		return nil, err
	}
	if err := b.o.Store.SetCachedImage(key, next.id); err != nil {
		return nil, err
	}
	b.printf("--> %s\n", shortID(next.id))
	return next, nil
}

// store records cfg, with a history line for the step (and the layer
// diffID, if it made one), as an unnamed image.
func (b *builder) store(cfg Image, createdBy, diffID string) (*state, error) {
	now := b.o.Now().UTC()
	cfg.Created = &now
	h := v1.History{Created: &now, CreatedBy: createdBy, EmptyLayer: diffID == ""}
	cfg.History = append(cfg.History, h)
	if diffID != "" {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digestOf(diffID))
	}
	raw := mustMarshal(cfg)
	img, err := b.o.Store.AddImage(raw, nil)
	if err != nil {
		return nil, err
	}
	return &state{id: img.ID, raw: raw, cfg: cfg}, nil
}

func mustMarshal(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // configs are plain data
	}
	return data
}
