// Package network tests container networks in a systemd box with a
// network namespace of its own: "the outside world" is a namespace the
// test makes, joined to the box by a veth, with an HTTP server and a
// resolver in it. No packet leaves the namespaces the test made.
package network
