//go:build !lean

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/build"
	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/unitgen"
)

// buildRunner runs the commands of RUN in dockah containers, in this
// process: the definition of a container of the step's image (its
// entrypoint the command, its environment the build arguments), turned
// into an activation.Config by launch as for any container (the same
// spec, policy, seccomp program, capabilities and masks), and started by
// activation. No systemd unit: a build runs where systemd does not (in
// CI, in a container), a step costs no D-Bus round trips, and the
// command's output comes straight back to the build.
type buildRunner struct {
	storeRoot string
	// tmp holds the steps' definitions.
	tmp string
}

// Run implements build.Runner.
func (r buildRunner) Run(ctx context.Context, name string, req build.RunRequest) (int, error) {
	def, err := runStepDefinition(req)
	if err != nil {
		return 0, err
	}
	path := filepath.Join(r.tmp, name+".toml")
	if err := os.WriteFile(path, def, 0o600); err != nil {
		return 0, err
	}
	defer os.Remove(path)
	prep, err := launch.Prepare(name, launch.Options{
		Mode: launch.ModeStart, Definitions: os.DirFS("/"), DefinitionFile: path, StoreRoot: r.storeRoot,
		Log: func(msg string) {
			if !strings.HasPrefix(msg, "<7>") {
				fmt.Fprintf(req.Output, "dockah: %s\n", msg)
			}
		},
	})
	if err != nil {
		return 0, err
	}
	// The step's range goes back to the pool with it (its layer records
	// the range it holds, for the commit).
	defer func() {
		if reg, err := launch.UserNSRegistry(r.storeRoot); err == nil {
			_ = reg.Release(name)
		}
	}()
	return startStep(ctx, prep.Config, req.Output)
}

// startStep starts the container and waits for its end; when ctx ends
// first, the container is killed.
func startStep(ctx context.Context, cfg *activation.Config, output io.Writer) (int, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	// A pipe, a file: the container starts on a thread of this process
	// (activation's thread start), and its output is copied as it comes.
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(output, pr); pr.Close(); close(copied) }()
	c, err := activation.Start(cfg, activation.StartOptions{Stdin: null, Stdout: pw, Stderr: pw})
	pw.Close()
	if err != nil {
		<-copied
		return 0, err
	}
	stop := context.AfterFunc(ctx, c.Kill)
	status, err := c.Wait()
	stop()
	<-copied
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return status, err
}

// runStepDefinition is the definition of a RUN step's container.
func runStepDefinition(req build.RunRequest) ([]byte, error) {
	env := map[string]string{}
	for _, kv := range req.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	args := req.Args
	c := runContainerTable{
		Image: req.Image, Pull: string(unitgen.PullNever), Entrypoint: &args,
		Environment: env, Network: req.Network,
	}
	var buf bytes.Buffer
	// The image's StopSignal is for the image's own containers: a step
	// is only ever killed, and needs no init to translate SIGTERM.
	def := runDefinition{Container: c, Service: map[string]any{"stop_signal": "SIGTERM"}}
	if err := toml.NewEncoder(&buf).Encode(def); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
