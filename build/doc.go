// Package build builds images from a Containerfile (or Dockerfile) into a
// rootfs store, as docker build, podman build and buildah bud do.
//
// The file is parsed with BuildKit's own Dockerfile parser and instruction
// packages, and the context's .containerignore or .dockerignore with
// moby/patternmatcher, so that syntax, variable expansion and ignore rules
// are Docker's. Each instruction of the stages the target needs is turned
// into a step: a change of the image config (ENV, LABEL, USER, ...; pure,
// config.go), a layer made directly from files (COPY, ADD; copy.go), or a
// command run in a container (RUN), whose writable layer becomes the new
// layer. Every step's result is an unnamed image in the store, found again
// through the build cache (cache.go) by a key of its parent, its
// instruction, the build arguments in scope and, for COPY and ADD, the
// content copied.
//
// Boundary: build imports rootfs (records, layers, the cache index),
// rootfs/archive (layers stored from a tar or a writable layer) and
// rootfs/merged (paths of an image's layers, read without mounting). It
// never starts a container itself: RUN goes through the Runner the caller
// gives (the dockah command runs it with cmd/internal/launch and
// activation, the same code as any container), and pulling through Pull.
// It must not be linked into dockah-activate (tests/depcheck_test.go).
//
// Invariants: COPY and ADD read nothing outside the context directory
// (every path, and every symlink on the way, is resolved inside it, as
// Docker does) and write nothing outside the layer they make; a build
// leaves no container, temp file or mount behind, after success, failure
// or cancellation.
package build
