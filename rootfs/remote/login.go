package remote

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// CheckLogin asks the registry whether it accepts the user and password,
// as docker and podman login do before they store anything: the API base
// /v2/ with the credentials (a token for registries that use tokens) must
// answer 200.
func CheckLogin(ctx context.Context, registry, user, password string, opts Options) error {
	insecure := false
	if opts.Registries != nil {
		if reg, ok := opts.Registries.Find(registry); ok {
			insecure = reg.Insecure
		}
	}
	var nopts []name.Option
	if insecure || opts.SkipTLSVerify {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(registry, nopts...)
	if err != nil {
		return fmt.Errorf("registry %s: %w", registry, err)
	}
	base, err := opts.baseTransport(reg.RegistryStr(), insecure)
	if err != nil {
		return err
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	rt, err := transport.NewWithContext(ctx, reg, auth, base, []string{reg.Scope("")})
	if err != nil {
		return fmt.Errorf("log in to %s: %w", registry, classify(err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := httpClient(rt).Do(req)
	if err != nil {
		return fmt.Errorf("log in to %s: %w", registry, err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return fmt.Errorf("log in to %s: %w", registry, classify(err))
	}
	return nil
}
