// Package kube converts between dockah definitions and the subset of
// Kubernetes manifests one host can run: Pods, Deployments, Services,
// ConfigMaps, Secrets and PersistentVolumeClaims.
//
// Generate turns definitions into YAML a cluster accepts; Parse reads
// multi-document manifests strictly into the local types of this
// package, and Plan turns them into definitions, networks and files for
// `dockah kube play`. Everything here is pure: no file is read or written
// and nothing is started (cmd/dockah does that).
//
// The Kubernetes API packages (k8s.io/api) are not imported: they are
// large, and this package is linked into the dockah command. The tests
// decode every generated manifest strictly into them instead.
//
// Invariants: Generate's output depends only on its input (maps are
// sorted, names derived deterministically); a setting with no Kubernetes
// equivalent is kept as a "dockah.io/" annotation and reported as a
// Warning, never dropped; Parse rejects unknown fields and kinds, and
// input over MaxFileSize, before anything is planned.
package kube
