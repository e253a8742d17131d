// Package merged reads an image's layer directories as overlayfs shows
// them merged, without mounting anything, and copies a directory of that
// view: what a new named volume starts with.
//
// The layers are the store's lower dirs (rootfs.Layer.Dir), topmost
// first as overlayfs lists them. The view follows overlayfs: a name in an
// upper layer hides the same name below, a whiteout (a 0:0 character
// device, which is how rootfs/layer stores an OCI .wh.NAME) hides it and
// is not shown, a directory merges with the directories of the same name
// below until one is opaque (the trusted.overlay.opaque or, in a store
// written without root, user.overlay.opaque xattr) or a lower layer has a
// non-directory there. Metadata is the topmost layer's.
//
// Everything in a layer is hostile. A path of the image is resolved as
// the kernel resolves it under RESOLVE_IN_ROOT: symlinks are followed
// inside the image only, ".." stops at its root, 40 links at the most.
// Inside the layers, every file is opened with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) from the layer's root and O_NOFOLLOW, and looked
// at with AT_SYMLINK_NOFOLLOW: a symlink of the image is read, copied as
// a symlink, and never followed, so nothing outside the layers is ever
// read. In the destination, every file is created with O_EXCL or mknodat
// and every later call on it does not follow symlinks.
//
// What a copy keeps and leaves out is a policy for data that outlives
// the image (docs/definitions.md, [[volume]]): owners, permission bits,
// times, symlinks, fifos, hard links among the copied files and user.*
// xattrs and ACLs are kept; set-user-ID and set-group-ID bits of
// non-directories, security.* and trusted.* xattrs (file capabilities,
// SELinux labels), device nodes and sockets are not.
//
// Boundary: merged only reads the layer directories it is given and
// writes below the destination it is given; it knows nothing of the
// store's layout or locks, and imports nothing of dockah. It is linked by
// the activation shim, so it imports nothing heavy either.
package merged
