// Package box boots a real systemd for integration tests.
//
// A box is a copy-on-write view of the host's root (overlayfs with
// lowerdir=/ and a tmpfs upper dir) in which the freshly built project is
// installed with "make install DESTDIR=ROOT PREFIX=/usr" and systemd is
// booted with systemd-nspawn. Nothing written inside reaches the host; the
// box shares the host's network, so what it listens on at 127.0.0.1 is
// reachable from the test process.
//
// DOCKAH_BOX_OS=debian13 boots Debian 13 (systemd 257) instead of the
// host's root: the lower layer is then a tree that the harness builds with
// mmdebstrap from the Debian mirror (DOCKAH_DEBIAN_MIRROR) and caches in
// /var/cache/dockah-boxes, keyed by its recipe (suite, packages, mirrors),
// so it is built again only when the recipe changes. dockah's binaries are
// static and install into either tree. DOCKAH_BOX_CGROUP picks the cgroup
// layout (unified or hybrid); Debian 13 boots only under unified.
//
// A box is always torn down: when the test binary ends, fails or is
// interrupted (Main handles SIGINT and SIGTERM), and, for a run that was
// killed outright, by the next Boot, which reaps boxes whose owner is gone.
// Processes are ended by pid, never by name, and only after checking that
// the pid still belongs to the box.
//
// Each box boots in a cgroup of its own, dockah-box-N at the top of the
// host's cgroup2 hierarchy (and of the v1 "systemd" one in the hybrid
// layout), removed with everything below it at teardown: units of a new
// box never start in a cgroup an earlier box left behind, with that box's
// BPF programs still attached (cgroup.go).
//
// Use one box per test package:
//
//	func TestMain(m *testing.M) { os.Exit(box.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		b := box.Shared(t)
//		out, err := b.Systemctl("start", "hello.socket")
//		...
//	}
package box
