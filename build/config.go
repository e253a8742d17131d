package build

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is the config of an image being built: OCI's, with Docker's
// Healthcheck, OnBuild and Shell, which is what docker build writes and
// what buildah bud --format docker writes.
type Image = dockerspec.DockerOCIImage

// DefaultPath is the PATH an image gets when its base has none, as Docker
// and Buildah give it.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultShell runs the shell forms of RUN, CMD and ENTRYPOINT unless
// SHELL says otherwise.
var defaultShell = []string{"/bin/sh", "-c"}

// ParseImage reads an image config as stored (OCI or Docker).
func ParseImage(raw []byte) (Image, error) {
	var img Image
	if err := json.Unmarshal(raw, &img); err != nil {
		return img, fmt.Errorf("parse image config: %w", err)
	}
	return img, nil
}

// scratchImage is the config of FROM scratch.
func scratchImage(p v1.Platform) Image {
	var img Image
	img.OS, img.Architecture, img.Variant = p.OS, p.Architecture, p.Variant
	img.RootFS.Type = "layers"
	return img
}

// baseImage prepares the config of a FROM image for the stage built on
// it: PATH set when missing, and the base's ONBUILD triggers taken out
// (returned, to run now: an image built on this one does not inherit
// them).
func baseImage(img Image) (Image, []string) {
	img = cloneImage(img)
	if _, ok := lookupEnv(img.Config.Env, "PATH"); !ok {
		img.Config.Env = append([]string{DefaultPath}, img.Config.Env...)
	}
	triggers := img.Config.OnBuild
	img.Config.OnBuild = nil
	if img.RootFS.Type == "" {
		img.RootFS.Type = "layers"
	}
	return img, triggers
}

// cloneImage copies the slices and maps of img, so that changes to the
// copy leave img alone.
func cloneImage(img Image) Image {
	data, err := json.Marshal(img)
	if err != nil {
		panic(err) // a config that was marshalled before
	}
	var out Image
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

// lookupEnv finds KEY in a list of KEY=VALUE.
func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		k, v, _ := strings.Cut(env[i], "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}

// setEnv sets KEY to value in env, in place of an earlier value.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// stageState is what a stage's instructions change besides the config.
type stageState struct {
	// cmdSet says CMD was given in this stage: ENTRYPOINT then keeps it
	// (otherwise it clears the base image's Cmd, as Docker does).
	cmdSet bool
}

// applyConfig applies an instruction that only changes the config (its
// words already expanded). It reports false for an instruction that is
// not one of those.
func applyConfig(img *Image, st *stageState, c instructions.Command) (bool, error) {
	cfg := &img.Config
	switch c := c.(type) {
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.MaintainerCommand:
		img.Author = c.Maintainer
	case *instructions.ExposeCommand:
		ports, err := exposedPorts(c.Ports)
		if err != nil {
			return true, err
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.WorkdirCommand:
		cfg.WorkingDir = workdir(cfg.WorkingDir, c.Path)
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if v == "" {
				return true, fmt.Errorf("VOLUME specified can not be an empty string")
			}
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.StopSignalCommand:
		if err := checkSignal(c.Signal); err != nil {
			return true, err
		}
		cfg.StopSignal = c.Signal
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = commandLine(img, c.ShellDependantCmdLine)
		if !st.cmdSet {
			cfg.Cmd = nil
		}
	case *instructions.CmdCommand:
		cfg.Cmd = commandLine(img, c.ShellDependantCmdLine)
		st.cmdSet = true
	case *instructions.HealthCheckCommand:
		cfg.Healthcheck = c.Health
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.ShellCommand:
		cfg.Shell = slices.Clone(c.Shell)
	case *instructions.ArgCommand:
		// Only the history and the scope change (args.go).
	default:
		return false, nil
	}
	return true, nil
}

// shellOf returns the shell of the shell forms.
func shellOf(img *Image) []string {
	if len(img.Config.Shell) > 0 {
		return slices.Clone(img.Config.Shell)
	}
	return slices.Clone(defaultShell)
}

// commandLine is CMD's or ENTRYPOINT's argument list: the exec form as
// given, the shell form run by the shell. An empty exec form ("[]")
// clears it.
func commandLine(img *Image, c instructions.ShellDependantCmdLine) []string {
	if c.PrependShell {
		return append(shellOf(img), strings.Join(c.CmdLine, " "))
	}
	if len(c.CmdLine) == 0 {
		return nil
	}
	return slices.Clone(c.CmdLine)
}

// workdir is WORKDIR p in a stage whose working directory is cur: a
// relative p is below cur.
func workdir(cur, p string) string {
	if !path.IsAbs(p) {
		if cur == "" {
			cur = "/"
		}
		p = path.Join(cur, p)
	}
	return path.Clean(p)
}

// exposedPorts turns EXPOSE's words into the config's keys: "80" is
// "80/tcp", a range "8000-8002/udp" one key, as Buildah writes them.
func exposedPorts(words []string) ([]string, error) {
	var out []string
	for _, w := range words {
		port, proto, _ := strings.Cut(w, "/")
		if proto == "" {
			proto = "tcp"
		}
		proto = strings.ToLower(proto)
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return nil, fmt.Errorf("EXPOSE %s: protocol %q (accepted: tcp, udp, sctp)", w, proto)
		}
		lo, hi, isRange := strings.Cut(port, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil || a == 0 || b < a {
			return nil, fmt.Errorf("EXPOSE %s: not a port or range of ports (1-65535)", w)
		}
		// A range stays one key, as Buildah writes it (Docker writes
		// each port).
		out = append(out, port+"/"+proto)
	}
	return out, nil
}

// checkSignal accepts what images say in StopSignal: a name with or
// without SIG, or a number.
func checkSignal(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return fmt.Errorf("STOPSIGNAL %s: signal numbers are 1 to 64", s)
		}
		return nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if name == "" || strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-')
	}) {
		return fmt.Errorf("STOPSIGNAL %q: not a signal (accepted: a name such as SIGQUIT, or a number)", s)
	}
	return nil
}
