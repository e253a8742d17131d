// Package archive moves images in and out of a rootfs store: it imports
// docker-archive tars, OCI image layouts (directories or tars) and plain
// root filesystem tars, saves images as docker-archive or OCI layout
// tars, and commits a container's writable layer as a new image.
//
// Everything read from an archive is hostile: member names are looked up,
// never joined to a path; every blob, config and manifest with a known
// digest is verified and a mismatch names the blob; JSON documents are
// size-limited; layers go through rootfs/layer's safe unpack.
//
// Boundary: archive uses the store only through rootfs's exported API
// (temp dirs, layer install, image records, locks), and is kept out of the
// activation shim, which links rootfs alone.
package archive
