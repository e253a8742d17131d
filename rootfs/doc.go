// Package rootfs is dockah's image store.
//
// A store is a directory (default /var/lib/dockah) holding image records,
// references (NAME:TAG), layers unpacked once into content-addressed
// directories that overlayfs can use as lower dirs, and each container's
// writable layer. docs/store.md describes the files, the locks and what
// happens after a crash.
//
// The API the shim uses: Open(root), Store.Resolve(ref) for an image's ID,
// OCI config and layer dirs, and Store.MountPlan(ref, container, opts) for
// the lower, upper and work dirs of its overlayfs root; from a start plan,
// Store.Writable(id, lower, container, opts) instead, and ReadPlan and
// WritePlan for the plan's bytes (their content is the shim's).
//
// This package is the part the activation shim links: Open, Resolve and
// MountPlan read one or two small records and never scan directories or
// hash anything. Reading archives, unpacking layers and writing archives
// live in the subpackages rootfs/layer and rootfs/archive, which import
// compression libraries the shim does not need.
//
// Boundary: rootfs returns mount plans (lower dirs, upper, work); it never
// mounts a container's root itself. It imports nothing else of dockah.
// Writes are atomic (temp name, fsync, rename) and guarded by flock(2)
// locks; a killed writer leaves no visible half image.
package rootfs
