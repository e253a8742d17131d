package main

import (
	"os"

	"github.com/spf13/pflag"
)

// registryFlags are the flags every command that talks to a registry has,
// with podman's names. Their definition is in the lean build too, which
// parses dockah run's flags before it hands a pull to the full one
// (lean.go); what uses them is not (registry.go).
type registryFlags struct {
	tlsVerify bool
	authfile  string
}

func (f *registryFlags) add(fl *pflag.FlagSet) {
	fl.BoolVar(&f.tlsVerify, "tls-verify", true, "require HTTPS and verify certificates (false: allow plain HTTP and any certificate)")
	fl.StringVar(&f.authfile, "authfile", os.Getenv("REGISTRY_AUTH_FILE"), "credentials file (default: containers-auth.json(5) locations, then ~/.docker/config.json; env REGISTRY_AUTH_FILE)")
}
