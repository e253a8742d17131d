// Package tests holds dockah's integration and end-to-end tests, which run
// against a real systemd booted in a copy-on-write box (see tests/box).
// They need root and systemd-nspawn; without them they skip and say why,
// and with DOCKAH_TEST_STRICT=1 (set by CI) such a skip is a failure.
package tests
