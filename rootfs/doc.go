// Package rootfs is dockah's image store.
//
// It imports images (docker-archive, OCI layout, plain root filesystem
// tars), unpacks each layer once into a content-addressed directory that
// overlayfs can use as a lower dir, shares layers between images, commits a
// container's writable layer as a new image, saves images, and collects
// garbage. Everything taken from an archive is hostile until checked.
//
// Boundary: rootfs returns mount plans (lower dirs, upper, work, options);
// it never mounts a container's root itself. It imports nothing else of
// dockah. Writes are atomic (temp name, fsync, rename) and guarded by a lock.
package rootfs
