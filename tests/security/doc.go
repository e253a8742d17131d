// Package security runs attacks inside containers in a real systemd box:
// the attack probe (contrib/attack) as root in a default container (a user
// namespace of its own: userns = "auto"), where every attack must fail,
// and in a deliberately weakened one (seccomp unconfined, every
// capability, userns = "host"), where the same attacks must succeed,
// proving the suite would see a regression. With its own user namespace
// the attacks on host root's files through a
// volume and through /proc, on a leaked host pid and on the host's user
// namespace fail even in a weakened container. Images with hostile layouts
// (/dev or a volume target a symlink pointing outside the root) must not
// make the shim mount or write outside the container.
package security
