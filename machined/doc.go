// Package machined registers containers with systemd-machined over D-Bus,
// so that machinectl lists them and shows their processes.
//
// Boundary: a thin D-Bus adapter (Conn, New, one method per call, Close). It
// imports nothing else of dockah.
package machined
