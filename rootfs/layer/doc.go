// Package layer unpacks image layers safely and turns directories back
// into layers.
//
// Unpack reads a layer tar (plain, gzip or zstd) from a hostile source
// into an empty directory in the form overlayfs mounts as a lower dir: OCI
// whiteouts (.wh.NAME) become 0:0 character devices and opaque markers
// (.wh..wh..opq) become the overlay opaque xattr. Every path is resolved
// from a directory file descriptor with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS), so no entry, symlink or hardlink can create,
// change or read anything outside the directory; device nodes other than
// whiteouts are refused unless allowed; limits stop absurd archives and
// decompression bombs. Every refusal names the layer and the entry and
// wraps rootfs.ErrUnsafePath.
//
// While unpacking, Unpack records a tar-split: the tar's headers and
// padding byte for byte, with references to the unpacked files for the
// contents. Rebuild replays it against the tree and gives back the exact
// tar, so a saved image keeps its layer digests without the store keeping
// a second copy of each layer.
//
// Diff goes the other way for commit: it writes an overlayfs upper dir as
// an OCI layer tar (whiteout devices and opaque xattrs become OCI
// whiteouts).
//
// Boundary: layer touches only the directory it is given; it knows
// nothing of the store's layout or locks.
package layer
