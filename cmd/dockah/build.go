//go:build !lean

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dockah/dockah/build"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/rootfs/remote"
)

// buildOptions are the flags of dockah build.
type buildOptions struct {
	tags, buildArgs, labels []string
	file, target, pull      string
	network, platform       string
	noCache                 bool
	registry                registryFlags
}

func newBuildCommand(g *globalOptions) *cobra.Command {
	o := &buildOptions{}
	cmd := &cobra.Command{
		Use:   "build [flags] CONTEXT",
		Short: "Build an image from a Containerfile or Dockerfile",
		Long: `Build an image from CONTEXT/Containerfile (or CONTEXT/Dockerfile, or -f FILE)
into the store, as docker build and podman build do, and print its ID.

The file is read with BuildKit's parser, so its syntax is Docker's: stages
(FROM ... AS NAME, --target), ARG, ENV, RUN (shell and exec forms,
heredocs, SHELL), COPY and ADD (--from, --chown, --chmod, wildcards, local
tar archives), LABEL, EXPOSE, USER, WORKDIR, VOLUME, ENTRYPOINT, CMD,
STOPSIGNAL, HEALTHCHECK and ONBUILD. CONTEXT/.containerignore (or
.dockerignore) excludes files from COPY and ADD, which never read outside
CONTEXT.

Each RUN runs in a dockah container, with the policy of any container
(seccomp, capabilities, masked paths), on the host's network unless
--network none. Each step is cached: a step whose image, instruction,
build arguments and copied files are unchanged is not run again
(--no-cache runs them all). docs/build.md says what is supported.`,
		Example: `  dockah build -t web:1 .
  dockah build -f contrib/hello/Containerfile -t hello:latest .
  dockah build --build-arg VERSION=2 --target runtime --no-cache -t app .
  dockah build -q -f - . < Containerfile.dev`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runBuild(c, g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.tags, "tag", "t", nil, "name the image `NAME[:TAG]` (repeatable)")
	f.StringVarP(&o.file, "file", "f", "", "the Containerfile (default: CONTEXT/Containerfile, then CONTEXT/Dockerfile; - reads it from the input)")
	f.StringArrayVar(&o.buildArgs, "build-arg", nil, "set the build argument `KEY=VALUE` (KEY alone: dockah's own value of KEY) (repeatable)")
	f.StringVar(&o.target, "target", "", "build the `STAGE` named (or numbered) so, and the stages it needs, not the last")
	f.BoolVar(&o.noCache, "no-cache", false, "run every step again, without the cache")
	f.StringVar(&o.pull, "pull", "missing", "pull FROM images: missing, always or never")
	f.Lookup("pull").NoOptDefVal = "always"
	f.StringVar(&o.network, "network", "host", "RUN's network: host or none")
	f.StringArrayVar(&o.labels, "label", nil, "add the label `KEY=VALUE` to the image (repeatable)")
	f.StringVar(&o.platform, "platform", "", "the `OS/ARCH` to build for: only the host's")
	o.registry.add(f)
	return cmd
}

func runBuild(c *cobra.Command, g *globalOptions, o *buildOptions, contextDir string) error {
	bo, err := o.options(c, g, contextDir)
	if err != nil {
		return err
	}
	defer bo.Context.Close()
	tmp, err := os.MkdirTemp("", "dockah-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bo.Runner = buildRunner{storeRoot: g.storeRoot, tmp: tmp}
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	img, err := build.Build(ctx, bo)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("build interrupted")
		}
		return err
	}
	fmt.Fprintln(c.OutOrStdout(), img.ID)
	return nil
}

// options turns the flags into build.Options.
func (o *buildOptions) options(c *cobra.Command, g *globalOptions, contextDir string) (build.Options, error) {
	bo := build.Options{Target: o.target, NoCache: o.noCache, Out: c.ErrOrStderr(), Quiet: g.quiet}
	if g.quiet {
		bo.Out = io.Discard
	}
	var err error
	if bo.Network, err = buildNetwork(o.network); err != nil {
		return bo, err
	}
	if o.platform != "" {
		p, err := archive.ParsePlatform(o.platform)
		if err != nil {
			return bo, err
		}
		bo.Platform.OS, bo.Platform.Architecture, bo.Platform.Variant = p.OS, p.Architecture, p.Variant
	}
	if bo.BuildArgs, err = keyValues("--build-arg", o.buildArgs, os.LookupEnv); err != nil {
		return bo, err
	}
	if bo.Labels, err = keyValues("--label", o.labels, nil); err != nil {
		return bo, err
	}
	for _, t := range o.tags {
		r, err := rootfs.ParseLocalReference(t)
		if err != nil {
			return bo, fmt.Errorf("--tag %s: %w", t, err)
		}
		bo.Tags = append(bo.Tags, r)
	}
	if bo.Store, err = openStore(g); err != nil {
		return bo, err
	}
	if bo.Base, err = o.base(c, g, bo.Store); err != nil {
		return bo, err
	}
	name, data, err := readContainerfile(o.file, contextDir, c.InOrStdin())
	if err != nil {
		return bo, err
	}
	if bo.File, err = build.Parse(name, data); err != nil {
		return bo, err
	}
	bo.Context, err = build.OpenContext(contextDir)
	return bo, err
}

// buildNetwork checks --network.
func buildNetwork(n string) (string, error) {
	switch n {
	case "host", "none":
		return n, nil
	case "private":
		return "none", nil
	}
	return "", fmt.Errorf("--network %s: RUN's network is host or none", n)
}

// keyValues reads KEY=VALUE flags; a KEY alone takes lookup's value when
// lookup is given, and is refused otherwise.
func keyValues(flag string, values []string, lookup func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
		}
		if !ok {
			if lookup == nil {
				return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
			}
			if v, ok = lookup(k); !ok {
				continue // as docker build: an unset variable is no argument
			}
		}
		out[k] = v
	}
	return out, nil
}

// readContainerfile reads -f FILE, - (the input), or the context's
// Containerfile or Dockerfile, Podman's order.
func readContainerfile(file, contextDir string, stdin io.Reader) (string, []byte, error) {
	switch file {
	case "-":
		data, err := io.ReadAll(stdin)
		return "-", data, err
	case "":
		for _, name := range []string{"Containerfile", "Dockerfile"} {
			p := filepath.Join(contextDir, name)
			data, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return p, data, err
		}
		return "", nil, fmt.Errorf("%s has no Containerfile or Dockerfile (give one with -f)", contextDir)
	}
	data, err := os.ReadFile(file)
	return file, data, err
}

// base finds FROM's images in the store, pulling them as --pull says.
func (o *buildOptions) base(c *cobra.Command, g *globalOptions, st *rootfs.Store) (func(context.Context, string) (*rootfs.Image, error), error) {
	if _, err := remote.ParsePolicy(o.pull); err != nil || o.pull == "newer" {
		return nil, fmt.Errorf("--pull %s: want missing, always or never", o.pull)
	}
	return func(ctx context.Context, ref string) (*rootfs.Image, error) {
		if o.pull != "always" {
			img, err := st.Resolve(ref)
			if err == nil || o.pull == "never" {
				return img, err
			}
		}
		prog := newProgress(c.ErrOrStderr(), g.quiet)
		f := pullFlags{registryFlags: o.registry, policy: o.pull}
		po, err := f.pullOptions(prog.event)
		if err != nil {
			return nil, err
		}
		p, err := remote.Pull(ctx, st, ref, po)
		prog.finish()
		if err != nil {
			return nil, err
		}
		return p.Image, nil
	}, nil
}
