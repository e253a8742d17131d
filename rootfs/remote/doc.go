// Package remote moves images between dockah's store and registries that
// speak the OCI distribution API (Docker Hub, quay.io, the CNCF registry):
// pull, push and login, with the registries configuration and credential
// files Podman users already have (packages registries and auth).
//
// Pull streams each missing layer straight into the store's unpacker,
// several at once, keeps the compressed bytes of a layer in progress under
// ROOT/partial so that an interrupted pull resumes with an HTTP range
// request instead of starting over, and verifies every digest before a
// layer or an image becomes visible. A layer the store has is never
// downloaded. Registries are hostile: manifests are capped in size, blob
// bodies must match their declared size and digest, and redirects are
// bounded.
//
// Boundary: remote is built on github.com/google/go-containerregistry and
// is linked only by the dockah command; the activation shim never imports
// it (a depcheck rule says so). It writes the store only through
// rootfs/archive.
package remote
