// Package unitgen turns container definitions into systemd units.
//
// It loads definitions from the search path (/etc, /run and /usr/lib
// dockah/containers, a file higher up masking one of the same name lower
// down), merges NAME.toml.d drop-ins, expands templates, validates every key
// with errors that name file, line and key, and renders NAME.service and
// NAME.socket as text.
//
// Boundary: unitgen is pure. It reads definition files through io/fs and
// nothing else: no syscalls, no D-Bus, no image store. Its output depends only
// on the definition files, so the generator that wraps it is fast, runs before
// /var is mounted, and gives the same units on every machine.
package unitgen
