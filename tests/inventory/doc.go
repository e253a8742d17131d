// Package inventory tests dockah image packages, which and audit as an
// administrator runs them: images carrying zlib in every form (a Debian
// image's zlib1g, an rpm database written by rpm's own tools, an apk
// database, a vendored libz.so, a binary linked with gcc -static -lz) and
// a Go binary, imported into a store of the test's own, matched against
// small OSV and Debian tracker fixtures. Its benchmarks measure the
// inventory of a ~200 MiB Debian image, cold and cached, and which over
// 50 images.
//
// It needs root (the Debian image is built by contrib/images/build), gcc
// with zlib1g-dev, and rpm; no systemd box.
package inventory
