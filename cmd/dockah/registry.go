//go:build !lean

package main

import (
	"fmt"

	"github.com/dockah/dockah/rootfs/remote"
	"github.com/dockah/dockah/rootfs/remote/auth"
	"github.com/dockah/dockah/rootfs/remote/registries"
)

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
