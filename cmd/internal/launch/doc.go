// Package launch turns a container's name into what package activation
// runs: it loads the definition, resolves the image in the store, builds
// the OCI runtime spec and completes it with the container's security
// policy (configure: capability sets, seccomp program, masked paths,
// SELinux labels, computed by package policy) into the activation.Config
// that activation.Start and activation.Exec apply.
//
// Both binaries use it: the shim to start a container and to print its
// spec, the CLI to run a command inside a running one. One code path means
// `dockah exec` runs with exactly the policy the container started with.
//
// A start (ModeStart, Options.Plans) keeps what it computed in a start
// plan in the store and reads it at the next start while nothing it was
// computed from has changed (plan.go: what is in it; plankey.go: what it
// depends on and how that is checked; plancodec.go: its encoding).
//
// Boundary: the glue between the definition, the store and the policy on
// one side and activation on the other; it starts nothing. It reads the
// definition, the image store, environment files and a few host facts
// (its own bounding set, the kernel's version, the CPUs); it creates
// nothing but what a start needs (named volumes, filled with the image's
// content on their first use by rootfs/merged, the writable layer's
// directories, the init layer, the seccomp cache, the start plan, SELinux
// relabelling) and only in ModeStart. dockah-stage does not link it.
package launch
