// Package launch turns a container's name into what package activation
// runs: it loads the definition, resolves the image in the store, builds
// the OCI runtime spec and asks activation for the configuration with the
// container's security policy (capabilities, seccomp program, labels).
//
// Both binaries use it: the shim to start a container and to print its
// spec, the CLI to run a command inside a running one. One code path means
// `dockah exec` runs with exactly the policy the container started with.
//
// Boundary: wiring only. It reads the definition, the image store and
// environment files; it creates nothing but what a start needs (named
// volumes, filled with the image's content on their first use by
// rootfs/merged, and the writable layer's directories) and only in
// ModeStart.
package launch
