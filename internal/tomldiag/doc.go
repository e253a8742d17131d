// Package tomldiag reports problems in TOML files by file, line and key.
//
// It holds what every reader of a TOML file of ours needs to name the line
// at fault: Diagnostic, one problem printed as
// FILE:LINE: KEY: MSG (accepted: …), and Lines, an index from the path of
// every key of a document to the line that defines it. BurntSushi/toml
// gives lines for syntax errors only; the checks that run after decoding
// (unknown keys, values that do not fit, keys that contradict each other)
// look their lines up in the index.
//
// Boundary: tomldiag is a leaf. It imports nothing of dockah's and nothing
// that touches the system, so that the pure package unitgen can use it as
// well as rootfs/remote/registries. It does not decode TOML and knows no
// schema: callers decode, check and decide what a problem says.
//
// Invariants callers rely on:
//
//   - Scan never fails and never panics, whatever the input: on text it
//     does not understand it skips a byte and carries on, so a wrong line
//     is the worst outcome. Its time and memory are linear in the input.
//   - A path is built with Path from the decoded tree's keys and array
//     indexes, so a lookup needs no knowledge of how the key was written
//     (quoted, dotted, in a table header or an inline table).
package tomldiag
