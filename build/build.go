package build

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dockah/dockah/rootfs"
)

// Options are what Build needs.
type Options struct {
	File    *File
	Context *Context
	Store   *rootfs.Store
	// Tags name the image built (NAME[:TAG]; localhost/ when short).
	Tags []rootfs.Reference
	// BuildArgs are the --build-arg values.
	BuildArgs map[string]string
	// Target is the stage to build (by name or number); "" the last.
	Target string
	// NoCache builds every step again (and records the new results).
	NoCache bool
	// Labels are added to the image built, as a last step.
	Labels map[string]string
	// Platform is the platform built for; only the host's is supported.
	Platform v1.Platform
	// Network is RUN's network: "host" or "none".
	Network string
	// Runner runs RUN's commands in containers.
	Runner Runner
	// Base finds the image of a FROM (pulling it as --pull says).
	Base func(ctx context.Context, ref string) (*rootfs.Image, error)
	// Out receives the steps and the commands' output; Quiet leaves out
	// the commands' output (a failed command's is in the error).
	Out   io.Writer
	Quiet bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Runner runs a RUN instruction's command in a container.
type Runner interface {
	// Run runs req in a new container named name, whose writable layer
	// is the store's writable layer of name (ROOT/containers/NAME), and
	// returns the command's exit status. It returns when the container
	// has ended, and kills it when ctx ends.
	Run(ctx context.Context, name string, req RunRequest) (int, error)
}

// RunRequest is one command to run.
type RunRequest struct {
	// Image is the ID of the image the container runs.
	Image string
	// Args replace the image's entrypoint and command.
	Args []string
	// Env is added to the image's Env (build arguments).
	Env []string
	// Network is "host" or "none".
	Network string
	// Output receives the command's standard output and error.
	Output io.Writer
}

// state is a stage's image so far: stored (ID) and parsed (cfg).
type state struct {
	id  string
	raw []byte
	cfg Image
}

// builder is one build.
type builder struct {
	o        Options
	lex      *shell.Lex
	global   *argScope
	stages   map[int]*state
	needed   []int
	step     int
	steps    int
	cleanups []func()
}

// Build builds o.File's target stage and the stages it needs, and names
// the result o.Tags. It holds the store lock shared from start to end,
// so that no prune removes a layer it has made but not yet named.
func Build(ctx context.Context, o Options) (*rootfs.Image, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Platform.OS == "" {
		o.Platform = v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	}
	if err := checkPlatform(o.Platform); err != nil {
		return nil, err
	}
	if err := o.Store.CleanTemp(); err != nil {
		return nil, err
	}
	lk, err := o.Store.LockShared()
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	b := &builder{o: o, lex: shell.NewLex(o.File.Escape), stages: map[int]*state{}}
	defer b.cleanup()
	b.global = newGlobalScope(o.BuildArgs, o.Platform)
	for i := range o.File.MetaArgs {
		if err := b.global.declareGlobal(&o.File.MetaArgs[i], b.lex); err != nil {
			return nil, o.File.errorAt(o.File.MetaArgs[i].Location(), err)
		}
	}
	target := len(o.File.Stages) - 1
	if o.Target != "" {
		t, ok := o.File.StageIndex(o.Target)
		if !ok {
			return nil, fmt.Errorf("--target %s: no such stage in %s", o.Target, o.File.Name)
		}
		target = t
	}
	if err := b.plan(target); err != nil {
		return nil, err
	}
	for _, i := range b.needed {
		if err := b.buildStage(ctx, i); err != nil {
			return nil, err
		}
	}
	final := b.stages[target]
	if final, err = b.finish(final); err != nil {
		return nil, err
	}
	if unused := b.global.unused(); len(unused) > 0 {
		fmt.Fprintf(o.Out, "[Warning] one or more build-args %v were not consumed\n", unused)
	}
	return b.commit(final)
}

// checkPlatform refuses to build for another platform than the host's:
// RUN would need an emulator.
func checkPlatform(p v1.Platform) error {
	if p.OS != "linux" || p.Architecture != runtime.GOARCH {
		return fmt.Errorf("--platform %s/%s: only the host's platform, linux/%s, can be built", p.OS, p.Architecture, runtime.GOARCH)
	}
	return nil
}

// plan finds the stages the target needs (its base stages and the
// stages COPY --from names), in the order they are built, and counts
// their steps.
func (b *builder) plan(target int) error {
	seen := map[int]bool{}
	var visit func(i int) error
	visit = func(i int) error {
		if seen[i] {
			return nil
		}
		seen[i] = true
		s := b.o.File.Stages[i]
		deps := []string{}
		base, err := b.expandGlobal(s.BaseName)
		if err != nil {
			return b.o.File.errorAt(s.Location, err)
		}
		deps = append(deps, base)
		for _, c := range s.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				deps = append(deps, cp.From)
			}
		}
		for _, d := range deps {
			if j, ok := b.stageBefore(d, i); ok {
				if err := visit(j); err != nil {
					return err
				}
			}
		}
		b.needed = append(b.needed, i)
		b.steps += 1 + len(s.Commands)
		return nil
	}
	return visit(target)
}

// stageBefore finds the stage named (or numbered) name among the stages
// before stage i.
func (b *builder) stageBefore(name string, i int) (int, bool) {
	j, ok := b.o.File.StageIndex(name)
	return j, ok && j < i
}

// expandGlobal expands a word with the ARGs before the first FROM.
func (b *builder) expandGlobal(word string) (string, error) {
	s, _, err := b.lex.ProcessWord(word, envGetter(b.global.global))
	return s, err
}

// cleanup runs what the build left to undo: containers, temp files.
func (b *builder) cleanup() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
}

// printf writes a line of the build's output.
func (b *builder) printf(format string, args ...any) {
	fmt.Fprintf(b.o.Out, format, args...)
}

// startStep prints STEP N/M: the instruction.
func (b *builder) startStep(code string) {
	b.step++
	b.printf("STEP %d/%d: %s\n", b.step, b.steps, firstLine(code))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// shortID is an image ID as the output shows it.
func shortID(id string) string { return strings.TrimPrefix(id, "sha256:")[:12] }

// finish applies --label to the target's image.
func (b *builder) finish(s *state) (*state, error) {
	if len(b.o.Labels) == 0 {
		return s, nil
	}
	keys := make([]string, 0, len(b.o.Labels))
	for k := range b.o.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var words []string
	for _, k := range keys {
		words = append(words, fmt.Sprintf("%q=%q", k, b.o.Labels[k]))
	}
	code := "LABEL " + strings.Join(words, " ")
	return b.cached(s, code, nil, "", func() (*state, error) {
		cfg := cloneImage(s.cfg)
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		for _, k := range keys {
			cfg.Config.Labels[k] = b.o.Labels[k]
		}
		return b.store(cfg, configHistory(code), "")
	})
}

// commit names the final image.
func (b *builder) commit(s *state) (*rootfs.Image, error) {
	img, err := b.o.Store.AddImage(s.raw, b.o.Tags)
	if err != nil {
		return nil, err
	}
	if len(b.o.Tags) > 0 {
		b.printf("COMMIT %s\n", b.o.Tags[0])
	}
	b.printf("--> %s\n", shortID(img.ID))
	for _, t := range b.o.Tags {
		b.printf("Successfully tagged %s\n", t)
	}
	return img, nil
}

// containerName is a fresh name for a RUN's container.
func containerName() string {
	var r [6]byte
	_, _ = rand.Read(r[:])
	return "dockah-build-" + hex.EncodeToString(r[:])
}
