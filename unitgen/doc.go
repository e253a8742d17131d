// Package unitgen turns container definitions into systemd units.
//
// It loads definitions from the search path (/etc, /run and /usr/lib
// dockah/containers, a file higher up masking one of the same name lower
// down, an empty file or a link to /dev/null masking it altogether), merges
// NAME.toml.d drop-ins, expands templates (NAME@.toml, "%i"), validates
// every key with errors that name file, line and key and say what is
// accepted (Diagnostic), and renders NAME.service and NAME.socket as text.
//
// The entry points:
//
//   - LoadAll reads every definition (the generator), LoadUnit one (the
//     activation shim: it reads only that unit's files).
//   - Parse and CheckDropIn check files given as bytes (dockah validate).
//   - Render makes the units of a Definition, RenderFailed the failing
//     service of a bad one, and Generate does all of it for the generator.
//
// Boundary: unitgen is pure. It reads definition files through io/fs (the
// caller passes os.DirFS("/"), tests an fstest.MapFS) and nothing else: no
// syscalls, no D-Bus, no image store, nothing of dockah's other packages
// but the shared leaf internal/tomldiag (the diagnostic type and the line
// index of TOML keys).
// Its output depends only on the definition files, so the generator that
// wraps it is fast, runs before /var is mounted, and gives the same units on
// every machine.
//
// Invariants callers rely on:
//
//   - A Definition is complete: defaults are applied (network "none",
//     pull "missing", seccomp "default", no_new_privileges true, socket
//     type "stream").
//   - Strings of an instance have "%i" and "%%" expanded; only a template
//     (Name "web@") keeps them, for Render to leave to systemd.
//   - LoadUnit and LoadAll give the same Definition, and the same
//     problems, for the same unit.
//   - Render is deterministic, and every value it writes is escaped for
//     the directive it goes to (checked by systemd-analyze verify in the
//     tests).
//   - NAME.service requires the static template unit PullTemplate
//     (dockah-pull@NAME.service) unless pull is "never"; Render does not
//     write it: it is installed with dockah.
package unitgen
