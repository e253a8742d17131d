// Package policy computes a container's security policy: the seccomp
// profile, the capability sets, masked and read-only paths, and SELinux
// sVirt labels with MCS categories unique on the host.
//
// Boundary: policy computes, activation applies. Choosing rules and labels
// is pure and tested without root or SELinux; loading a filter or setting a
// label happens in activation. It imports nothing else of dockah.
package policy
