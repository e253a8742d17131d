// Package security runs attacks inside containers in a real systemd box:
// the attack probe (contrib/attack) as root in a default container, where
// every attack must fail, and in a deliberately weakened one (seccomp
// unconfined, every capability), where the same attacks must succeed,
// proving the suite would see a regression. Images with hostile layouts
// (/dev or a volume target a symlink pointing outside the root) must not
// make the shim mount or write outside the container.
package security
