package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// writeBundles writes the OCI bundles crun and runc run, from dockah's own
// runtime spec (`dockah spec`), so that every runtime runs the same thing:
// the same read-only root, mounts, namespaces, capabilities and masked
// paths. "-serve" bundles run the server behind a socket, "-true" ones
// /bin/true.
func (s *suite) writeBundles() error {
	for _, kind := range []struct{ suffix, definition string }{{"serve", "bench-dockah"}, {"true", "bench-true"}} {
		spec, err := s.box.Run("dockah", "spec", kind.definition)
		if err != nil {
			return err
		}
		for _, rt := range []string{"crun", "crun-seccomp", "runc"} {
			// runc hands systemd's sockets on by itself (LISTEN_FDS in
			// its environment); crun needs --preserve-fds and LISTEN_FDS
			// in the spec, then sets LISTEN_PID=1.
			listen := kind.suffix == "serve" && strings.HasPrefix(rt, "crun")
			dir := bundles + "/" + rt + "-" + kind.suffix
			if err := s.writeBundle(dir, spec, rt != "crun", listen); err != nil {
				return fmt.Errorf("%s: %w", dir, err)
			}
		}
	}
	return nil
}

// writeBundle writes dir/config.json from a dockah spec, with the shared
// unpacked image as its read-only root, without seccomp unless asked.
func (s *suite) writeBundle(dir, specJSON string, seccomp, listenEnv bool) error {
	var spec map[string]any
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("parse dockah spec: %w", err)
	}
	spec["root"] = map[string]any{"path": rootfs, "readonly": true}
	process, _ := spec["process"].(map[string]any)
	linux, _ := spec["linux"].(map[string]any)
	mounts, _ := spec["mounts"].([]any)
	if process == nil || linux == nil {
		return fmt.Errorf("dockah spec has no process or linux section")
	}
	if listenEnv {
		env, _ := process["env"].([]any)
		process["env"] = append(env, "LISTEN_FDS=1")
	}
	if !seccomp {
		delete(linux, "seccomp")
	}
	for _, m := range mounts {
		// dockah's own mount option; crun and runc reject it.
		mm, _ := m.(map[string]any)
		opts, _ := mm["options"].([]any)
		kept := []any{}
		for _, o := range opts {
			if o != "x-dockah.optional" {
				kept = append(kept, o)
			}
		}
		mm["options"] = kept
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return s.writeBench(dir+"/config.json", data)
}
