// Package volume tests named volumes in a real systemd: a new volume
// starts with the image's content at its target (owners, modes, symlinks
// as links, set-id bits dropped), only on its first use, so what the
// container wrote survives the next start; copy = false leaves it empty;
// a target that is a symlink in the image is followed inside the image
// only; a whiteout of a committed layer keeps a file out. It uses no
// ports; its units are named vol-*.
package volume
