// Package confine proves, in a systemd box, that the sandbox the shim and
// the forwarder build around themselves (activation/confine) holds what
// systemd's mount-namespace directives held: it looks at the running shim
// and the running forwarder of a container from outside (their /proc
// entries, their root, their mount table), with the shim's own sandbox
// and with unit_sandbox = "systemd", and checks that the container itself
// sees the same mount table either way. docs/security.md names each
// check against the directive it replaces.
package confine
