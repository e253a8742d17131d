// Package confine is the sandbox dockah's own processes build around
// themselves, in place of the mount-namespace directives of systemd that
// cost a container's start tens of milliseconds.
//
//   - The shim (Shim): in a mount namespace of its own, the host's whole
//     tree read-only, nosuid and nodev with one recursive mount_setattr(2);
//     the store and the writable volumes' sources put back as the host has
//     them (clones taken with open_tree(2) before, moved back with
//     move_mount(2)); /dev keeps its device nodes; /home, /root,
//     /run/user and the kernel's modules hidden under an empty read-only
//     tmpfs; /tmp and /var/tmp private; the kernel's log masked. That is
//     systemd's ProtectSystem=strict, ProtectHome=yes, PrivateTmp=yes,
//     PrivateMounts=yes, ReadWritePaths=, ProtectKernelTunables=,
//     ProtectKernelModules=, ProtectKernelLogs= and ProtectControlGroups=,
//     or stricter (all of /proc and /dev is read-only).
//   - The forwarder (StartForwarder, Forwarder), which stays while the
//     container runs and handles untrusted connections: a process of its
//     own in the container's network namespace, with an empty read-only
//     root, no capability in any set, no_new_privs, and a seccomp filter
//     that allows only what relaying connections needs.
//
// What must hold for every thread (a namespace, the root, capabilities)
// is done by a constructor in C (early_linux.go) before the Go runtime
// starts a thread; the rest is done in Go. A kernel without the new mount
// API (Linux 5.12 for mount_setattr) is an error, not a weaker sandbox:
// the definition's unit_sandbox = "systemd" is the way to run there.
//
// Boundary: it imports nothing of ours. What to make writable or hide
// comes from the caller (unitgen.ShimSandbox, by cmd/dockah-activate); it
// never touches a container's own mount namespace, which activation
// builds from the shim's and pivots away from.
package confine
