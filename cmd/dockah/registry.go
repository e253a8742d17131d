package main

import (
	"fmt"
	"os"

	"github.com/dockah/dockah/rootfs/remote"
	"github.com/dockah/dockah/rootfs/remote/auth"
	"github.com/dockah/dockah/rootfs/remote/registries"
	"github.com/spf13/pflag"
)

// registryFlags are the flags every command that talks to a registry has,
// with podman's names.
type registryFlags struct {
	tlsVerify bool
	authfile  string
}

func (f *registryFlags) add(fl *pflag.FlagSet) {
	fl.BoolVar(&f.tlsVerify, "tls-verify", true, "require HTTPS and verify certificates (false: allow plain HTTP and any certificate)")
	fl.StringVar(&f.authfile, "authfile", os.Getenv("REGISTRY_AUTH_FILE"), "credentials file (default: containers-auth.json(5) locations, then ~/.docker/config.json; env REGISTRY_AUTH_FILE)")
}

// options reads registries.conf and sets up the credential search the
// flags ask for.
func (f *registryFlags) options() (remote.Options, error) {
	cfg, err := registries.LoadSystem()
	if err != nil {
		return remote.Options{}, fmt.Errorf("registries configuration: %w", err)
	}
	return remote.Options{
		Registries:    cfg,
		Keychain:      auth.NewKeychain(f.env()),
		SkipTLSVerify: !f.tlsVerify,
		UserAgent:     "dockah/" + version,
	}, nil
}

func (f *registryFlags) env() auth.Env { return auth.OSEnv(f.authfile) }
