package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// Runner runs credential helpers: the program docker-credential-HELPER
// with ACTION (get, store, erase) as its argument and input on its
// standard input. On failure it returns the program's standard output
// too, where the protocol puts its messages, with a non-nil error.
type Runner interface {
	Run(ctx context.Context, helper, action string, input []byte) ([]byte, error)
}

// Exec is the Runner that executes docker-credential-HELPER from $PATH.
type Exec struct{}

// Run executes docker-credential-HELPER ACTION.
func (Exec) Run(ctx context.Context, helper, action string, input []byte) ([]byte, error) {
	// The helper name comes from a file that may not be ours: with a '/'
	// in it, exec would run a path of the file's choosing instead of
	// looking docker-credential-NAME up in $PATH.
	if !validHelperName(helper) {
		return nil, fmt.Errorf("credential helper %q: not a helper name", helper)
	}
	cmd := exec.CommandContext(ctx, "docker-credential-"+helper, action)
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stdout.String())
		if msg == "" {
			msg = strings.TrimSpace(stderr.String())
		}
		if msg != "" {
			return stdout.Bytes(), fmt.Errorf("docker-credential-%s %s: %w: %s", helper, action, err, msg)
		}
		return stdout.Bytes(), fmt.Errorf("docker-credential-%s %s: %w", helper, action, err)
	}
	return stdout.Bytes(), nil
}

func validHelperName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// helperCreds is the JSON of the docker-credential-helpers protocol.
type helperCreds struct {
	ServerURL string
	Username  string
	Secret    string
}

// tokenUser is the Username under which helpers keep identity tokens.
const tokenUser = "<token>"

// notFound reports whether a helper's output says it has no credentials.
func notFound(out []byte) bool {
	return strings.Contains(string(out), "credentials not found")
}

// helperGet asks helper for the credential of registry. Docker Hub is
// asked under Podman's name (docker.io) and then Docker's.
func helperGet(ctx context.Context, r Runner, helper, registry string) (Credential, bool, error) {
	servers := []string{registry}
	if registry == dockerHub {
		servers = append(servers, legacyDockerHubKey)
	}
	for _, server := range servers {
		out, err := r.Run(ctx, helper, "get", []byte(server))
		if err != nil {
			if notFound(out) {
				continue
			}
			return Credential{}, false, err
		}
		var hc helperCreds
		if err := json.Unmarshal(out, &hc); err != nil {
			return Credential{}, false, fmt.Errorf("docker-credential-%s get: its answer is not credentials JSON: %w", helper, err)
		}
		switch {
		case hc.Username == "" && hc.Secret == "":
			continue
		case hc.Username == tokenUser:
			return Credential{IdentityToken: hc.Secret}, true, nil
		}
		return Credential{Username: hc.Username, Password: hc.Secret}, true, nil
	}
	return Credential{}, false, nil
}

// helperStore stores a credential for registry in helper.
func helperStore(ctx context.Context, r Runner, helper, registry, username, password string) error {
	input, err := json.Marshal(helperCreds{ServerURL: registry, Username: username, Secret: password})
	if err != nil {
		return err
	}
	_, err = r.Run(ctx, helper, "store", input)
	return err
}

// helperErase removes the credential of registry from helper and reports
// whether there was one.
func helperErase(ctx context.Context, r Runner, helper, registry string) (bool, error) {
	out, err := r.Run(ctx, helper, "erase", []byte(registry))
	if err != nil {
		if notFound(out) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
