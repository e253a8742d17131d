// Package inventory says what software an image carries: the packages of
// its package databases (dpkg, including the status.d of distroless
// images; rpm; apk), the modules of its Go binaries, and the copies that
// no package manager knows of: shared libraries no package owns (a
// vendored libz.so.1.2.11) and libraries linked statically into binaries,
// found by the version strings they embed (zlib's "deflate 1.x.y
// Copyright", OpenSSL's "OpenSSL 3.0.11 19 Sep 2023").
//
// An inventory is computed from an image's merged filesystem, read from
// its layer directories by rootfs/merged (no mount, no symlink of the
// image ever followed on the host), once per layer chain: it is cached by
// chain ID under the store (ROOT/inventory/HEX.json, root's alone,
// written atomically; a cache entry that does not read back is computed
// again). Every entry says where it was found: the database or file, and
// the layer that holds it.
//
// Everything in an image is hostile. Every file read has a size limit,
// the bytes scanned for version strings have a budget, and the rpm
// database is read by a child process with limits on its memory, CPU
// time and output (RPMReader): a huge or corrupt database, a binary with
// misleading strings or a symlink loop gives an error or "unknown" in the
// inventory, never a crash or a hang.
//
// Subpackages: inventory/version compares versions by each ecosystem's
// rules; inventory/vulndb reads OSV and Debian security tracker data and
// matches inventories against it.
//
// Boundary: inventory reads the store (rootfs) and the layers
// (rootfs/merged) and writes only its cache. It is the dockah command's:
// the activation shim never links it (tests/depcheck_test.go).
package inventory
