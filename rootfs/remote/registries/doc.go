// Package registries reads the registry configuration Podman users already
// have: containers-registries.conf(5) in its version 2 format, with the
// drop-ins of containers-registries.conf.d(5), and the per-registry TLS
// directories of containers-certs.d(5).
//
// What it answers, for a puller:
//
//   - Find: which [[registry]] table governs a fully qualified reference
//     (longest prefix on path-component boundaries; "*.example.com"
//     prefixes match every subdomain);
//   - Endpoints: where to pull a reference from, in order: the mirrors
//     allowed for a pull by tag or by digest, then the primary location,
//     each with the reference rewritten and its insecure flag; or an error
//     wrapping ErrBlocked;
//   - ResolveShortName: the fully qualified candidates for a short name
//     (an alias, else one per unqualified-search registry), never
//     prompting;
//   - TLSConfig: the CA roots and client certificates of a registry.
//
// Parse and Load are pure: they read through io/fs, so the same files give
// the same Config on every machine, and a bad file is reported as
// diagnostics of the form FILE:LINE: KEY: MESSAGE (accepted: …), every
// problem of the file at once. LoadSystem, SystemTLSConfig and the
// CONTAINERS_REGISTRIES_CONF variable are the thin wrappers over the real
// file system.
//
// Boundary: this package reads configuration and never touches the
// network; it holds no credentials (those are rootfs/remote/auth's). The
// version 1 format ([registries.search] and friends) is refused with a
// diagnostic rather than converted, and unknown keys are errors, so a typo
// never silently changes where images come from.
package registries
