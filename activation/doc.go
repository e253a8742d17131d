// Package activation is the container runtime behind dockah-activate.
//
// Given an OCI runtime spec, the sockets systemd passed and a root
// filesystem mount plan, it creates the container's namespaces, mounts its
// root, /proc, /dev, /sys and volumes inside the new mount namespace,
// pivot_roots, applies the security policy, hands the sockets on as fd 3 and
// up, and execs the entrypoint so that nothing of dockah stays resident.
//
// Boundary: this is the only package that clones, unshares, mounts into a
// container, pivot_roots or execs a container process. It never imports
// unitgen: the definition reaches it as a runtime spec built by the caller.
package activation
