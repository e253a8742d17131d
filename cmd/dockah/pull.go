//go:build !lean

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/rootfs/layer"
	"github.com/dockah/dockah/rootfs/remote"
	"github.com/spf13/cobra"
)

type pullFlags struct {
	registryFlags
	platform     string
	policy       string
	forContainer string
	allowDevices bool
	jobs         int
	limits       layer.Limits
}

func newPullCommand(opts *globalOptions) *cobra.Command {
	f := &pullFlags{}
	cmd := &cobra.Command{
		Use:   "pull [flags] IMAGE",
		Short: "Pull an image from a registry into the store",
		Long: `Pull IMAGE (NAME[:TAG] or NAME@DIGEST) from its registry into the store and
print its image ID.

Names follow Docker's rules: nginx is docker.io/library/nginx:latest. A
short name is resolved through registries.conf(5) when it has an alias or
unqualified-search-registries; mirrors are tried before the registry.
Layers the store has are not downloaded; the others download and unpack at
once, several at a time, each checked against its digest before it becomes
visible. An interrupted pull resumes its partial layers. Credentials come
from dockah login (containers-auth.json(5)) or ~/.docker/config.json.`,
		Example: `  dockah pull docker.io/library/nginx:1.27
  dockah pull --platform linux/arm64 quay.io/acme/app@sha256:…
  dockah pull --tls-verify=false 127.0.0.1:5000/test/app:1`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(c *cobra.Command, args []string) error {
			if f.forContainer != "" {
				if len(args) != 0 {
					return fmt.Errorf("pull: --for-container takes the image from the definition, not from an argument")
				}
				return runPullForContainer(c, opts, f)
			}
			if len(args) != 1 {
				return fmt.Errorf("pull: name one image")
			}
			return runPull(c, opts, f, args[0])
		},
	}
	fl := cmd.Flags()
	f.registryFlags.add(fl)
	fl.StringVar(&f.platform, "platform", "", "OS/ARCH[/VARIANT] to pick from a multi-platform image (default: the host's)")
	fl.StringVar(&f.policy, "policy", "always", "when to go to the registry: always, missing, newer or never")
	fl.StringVar(&f.forContainer, "for-container", "", "pull the image of this container's definition, per its pull key (used by dockah-pull@.service)")
	fl.BoolVar(&f.allowDevices, "allow-devices", false, "create the device nodes of layers (left out by default: containers get a fresh /dev)")
	fl.IntVar(&f.jobs, "jobs", 0, "layers downloaded and unpacked at once (default: 4, or one per CPU if more)")
	fl.Int64Var(&f.limits.MaxTarSize, "max-layer-size", layer.DefaultLimits.MaxTarSize, "largest uncompressed layer, in bytes")
	return cmd
}

// pullOptions turns the flags into remote.PullOptions.
func (f *pullFlags) pullOptions(progress func(archive.Event)) (remote.PullOptions, error) {
	ro, err := f.options()
	if err != nil {
		return remote.PullOptions{}, err
	}
	po := remote.PullOptions{Options: ro, Import: archive.ImportOptions{
		AllowDevices: f.allowDevices, Jobs: f.jobs, Limits: f.limits, Progress: progress,
	}}
	if po.Policy, err = remote.ParsePolicy(f.policy); err != nil {
		return po, fmt.Errorf("--policy: %w", err)
	}
	if f.platform != "" {
		if po.Platform, err = archive.ParsePlatform(f.platform); err != nil {
			return po, err
		}
	}
	return po, nil
}

func runPull(c *cobra.Command, opts *globalOptions, f *pullFlags, ref string) error {
	st, err := openStore(opts)
	if err != nil {
		return err
	}
	prog := newProgress(c.ErrOrStderr(), opts.quiet)
	po, err := f.pullOptions(prog.event)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := remote.Pull(ctx, st, ref, po)
	prog.finish()
	if err != nil {
		return err
	}
	if !opts.quiet && p.Fetched {
		fmt.Fprintf(c.ErrOrStderr(), "pulled %s (%s)\n", p.Reference, p.Digest)
	}
	fmt.Fprintln(c.OutOrStdout(), p.Image.ID)
	return nil
}
