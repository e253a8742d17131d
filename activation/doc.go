// Package activation is the container runtime behind dockah-activate.
//
// Given a Config (an OCI runtime spec with the security policy already
// computed, the root filesystem's layers and the names of the sockets
// systemd passed), it creates the container's namespaces, mounts its
// root, /proc, /dev, /sys and volumes inside the new mount namespace,
// pivot_roots, applies the policy, hands the sockets on as fd 3 and up,
// and execs the entrypoint so that nothing of dockah stays resident.
//
// A container is built one of two ways, with the same result (a test,
// start_paths_linux_test.go, starts one configuration both ways and
// compares what the container sees of its policy and its mounts):
//
//   - the thread start (thread_start_linux.go, spawn_linux.go): a locked
//     thread of the caller builds the root and clones the container's
//     pid 1, which applies the policy in C and execs the entrypoint;
//   - the setup stage (setup_stage_linux.go): a process created in the
//     new namespaces, dockah-stage or the caller's binary re-executed,
//     builds the root, applies the policy in Go and execs the entrypoint.
//     With init = true it first starts the app stage (app_stage_linux.go),
//     the process that becomes the entrypoint, and then becomes the
//     container's init itself (init_linux.go).
//
// Exec runs a command in a running container through the exec stage
// (exec_stage_linux.go), which joins the container's namespaces. A stage
// is always dockah-stage or the caller's binary re-executed: its main
// calls IsStage and RunStage (and IsInit and RunInit) first.
//
// Boundary: this is the only package that clones, unshares, mounts into a
// container, pivot_roots or execs a container process. It imports nothing
// of ours outside its own tree: the definition, the image store and the
// policy computation reach it as a Config built by the caller
// (cmd/internal/launch), so dockah-stage, which links it alone, stays
// small.
package activation
