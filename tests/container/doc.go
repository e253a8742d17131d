// Package container tests the activation shim in a real systemd: a
// socket-activated container of the hello image, started by its first
// connection, isolated, logged, restarted and stopped without leftovers.
package container
