// Package policy computes a container's security policy: the capability
// sets, the seccomp filter (compiled to BPF and cached on disk), the
// masked and read-only paths, and SELinux sVirt labels with MCS levels
// unique on the host.
//
// Boundary: policy computes, activation applies. Nothing here loads a
// filter, sets a capability or a label, mounts or execs; the only effects
// are reading a profile file, the compiled-program cache
// (<store>/cache/seccomp) and the MCS registry (<store>/selinux/mcs),
// both written atomically. It imports nothing else of dockah.
//
// What the shim calls, in order:
//
//	caps, _ := policy.Capabilities(policy.CapConfig{Add, Drop, UID})
//	paths, _ := policy.MaskedPaths(policy.PathConfig{Masked, CPUs})
//	prof, _ := policy.Seccomp(policy.SeccompConfig{Profile, Kernel})
//	prog, hit, err := policy.CachedBPF(store+"/cache/seccomp", prof, caps.Bounding)
//	if err := policy.CheckSELinux(policy.HostSELinux(), sel); err == nil {
//		reg, _ := policy.OpenMCSRegistry(store + "/selinux/mcs")
//		labels, _ := policy.SELinuxLabels(reg, name, sel)
//	}
//
// Invariants callers rely on:
//   - A Program is the raw struct sock_filter array in host byte order,
//     at most 4096 instructions; nil means no filter (unconfined).
//   - The cache never serves a program compiled for another profile,
//     capability set, architecture set, kernel or libseccomp: all of them
//     are in the key, and every file is checked (magic, size, key,
//     SHA-256) before use.
//   - A level from the registry is held by no other container and is the
//     same at every start until Release.
//   - Without SELinux every label function still works (labels are plain
//     strings); CheckSELinux says whether to apply them.
package policy
