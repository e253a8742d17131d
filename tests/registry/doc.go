// Package registry runs a real container registry for tests, and its tests
// check dockah's pull, push, login and pull-on-first-start against it in a
// systemd box.
//
// Start runs Debian's docker-registry (the CNCF distribution registry,
// package docker-registry) as a child process of the test: bound to a free
// port on 127.0.0.1, storing blobs in a temporary directory, optionally
// serving TLS with a certificate from a CA made for the test, and
// optionally requiring htpasswd basic authentication. The box shares the
// host's network, so what runs in the box reaches the registry at
// Registry.Host.
//
// Invariants callers rely on:
//   - The registry listens on 127.0.0.1 only; nothing is sent anywhere
//     else.
//   - It is ready when Start returns (GET /v2/ answered), and it is killed
//     by pid, with its process group, when the test that started it ends,
//     passed or failed; its directory goes with it. A test binary killed
//     outright takes its registry along (the parent-death signal).
//   - Files the helpers write into a box (a CA under certs.d, a
//     registries.conf.d drop-in) are removed when the test that wrote them
//     ends.
//
// The package only runs processes and writes files; it imports nothing of
// dockah but the test harness (tests/box, tests/testenv). The tests drive
// dockah through its CLI and systemd, as an administrator would, and use
// skopeo, umoci, podman and curl as the other side. Ports 18900-18999
// belong to this package's tests.
package registry
