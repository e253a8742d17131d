//go:build !lean

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/dockah/dockah/rootfs/remote"
	"github.com/dockah/dockah/rootfs/remote/auth"
	"github.com/spf13/cobra"
)

func newPushCommand(opts *globalOptions) *cobra.Command {
	f := &registryFlags{}
	var digestFile string
	cmd := &cobra.Command{
		Use:   "push [flags] IMAGE [DESTINATION]",
		Short: "Push an image from the store to a registry",
		Long: `Push IMAGE to DESTINATION (a name with a registry; by default the name IMAGE
has in the store) as a Docker schema 2 image with gzip layers, and print the manifest
digest. The config is sent unchanged, so the image ID is the same wherever
the image goes; layers the registry has are not sent again.`,
		Example: `  dockah commit web registry.example.com/acme/web:2 && dockah push registry.example.com/acme/web:2
  dockah push localhost/tools:1 127.0.0.1:5000/acme/tools:1 --tls-verify=false`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			st, err := openStore(opts)
			if err != nil {
				return err
			}
			ro, err := f.options()
			if err != nil {
				return err
			}
			dest := ""
			if len(args) == 2 {
				dest = args[1]
			}
			po := remote.PushOptions{Options: ro}
			if !opts.quiet {
				po.Progress = pushProgress(c.ErrOrStderr())
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			digest, err := remote.Push(ctx, st, args[0], dest, po)
			if err != nil {
				return err
			}
			if digestFile != "" {
				if err := os.WriteFile(digestFile, []byte(digest), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintln(c.OutOrStdout(), digest)
			return nil
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVar(&digestFile, "digestfile", "", "also write the manifest digest to this file")
	return cmd
}

// pushProgress prints one line per 10% of the upload.
func pushProgress(w io.Writer) func(done, total int64) {
	last := int64(-1)
	return func(done, total int64) {
		if total <= 0 {
			return
		}
		if pct := done * 10 / total; pct != last {
			last = pct
			fmt.Fprintf(w, "pushed %s of %s\n", humanSize(done), humanSize(total))
		}
	}
}

func newLoginCommand(opts *globalOptions) *cobra.Command {
	f := &registryFlags{}
	var user, password string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login [flags] REGISTRY",
		Short: "Log in to a registry: check the credentials and store them",
		Long: `Check a user and password with REGISTRY and store them where podman does
(containers-auth.json(5): $XDG_RUNTIME_DIR/containers/auth.json, for root
without XDG_RUNTIME_DIR /run/containers/0/auth.json), or in --authfile, or
through the credential helper the file names for the registry.

Units run without HOME: dockah-pull@.service and containers read root's
credentials from /run/containers/0/auth.json (lost at reboot, as podman's),
then /root/.config/containers/auth.json and /root/.docker/config.json.`,
		Example: `  dockah login -u alice registry.example.com
  echo "$TOKEN" | dockah login -u alice --password-stdin registry.example.com
  dockah login --authfile /etc/dockah/auth.json registry.example.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if passwordStdin && password != "" {
				return fmt.Errorf("login: --password and --password-stdin are exclusive")
			}
			if user == "" {
				return fmt.Errorf("login: --username is required (dockah does not prompt)")
			}
			if passwordStdin {
				line, err := bufio.NewReader(c.InOrStdin()).ReadString('\n')
				if err != nil && err != io.EOF {
					return fmt.Errorf("login: read the password: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
			}
			if password == "" {
				return fmt.Errorf("login: no password (use --password-stdin)")
			}
			ro, err := f.options()
			if err != nil {
				return err
			}
			registry := loginRegistry(args[0])
			if err := remote.CheckLogin(c.Context(), registry, user, password, ro); err != nil {
				return err
			}
			file, err := auth.Login(f.env(), registry, user, password)
			if err != nil {
				return err
			}
			if !opts.quiet {
				fmt.Fprintf(c.ErrOrStderr(), "login succeeded; credentials for %s in %s\n", registry, file)
			}
			return nil
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name")
	cmd.Flags().StringVarP(&password, "password", "p", "", "password (visible to other users in the process list: prefer --password-stdin)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

// loginRegistry accepts what users paste: a URL or a registry with a path.
func loginRegistry(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s = strings.TrimSuffix(s, "/")
	if s == "index.docker.io/v1" || s == "index.docker.io" || s == "registry-1.docker.io" {
		return "docker.io"
	}
	return s
}

func newLogoutCommand(opts *globalOptions) *cobra.Command {
	f := &registryFlags{}
	var all bool
	cmd := &cobra.Command{
		Use:   "logout [flags] [REGISTRY]",
		Short: "Remove the stored credentials for a registry",
		Example: `  dockah logout registry.example.com
  dockah logout --all`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(c *cobra.Command, args []string) error {
			switch {
			case all && len(args) == 0:
				return auth.LogoutAll(f.env())
			case !all && len(args) == 1:
				return auth.Logout(f.env(), loginRegistry(args[0]))
			}
			return fmt.Errorf("logout: name a registry, or --all")
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove the credentials of every registry from the credentials file")
	return cmd
}
