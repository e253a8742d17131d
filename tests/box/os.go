package box

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// OS selects the operating system tree a box boots: the host's own root,
// or a Debian release that the harness builds with mmdebstrap and caches
// (tree.go). dockah's binaries are static, so one build installs into
// either.
type OS string

const (
	// Host boots the host's own root (Debian 12 here, systemd 252).
	Host OS = "host"
	// Debian13 boots Debian 13 (trixie, systemd 257), under the unified
	// layout only.
	Debian13 OS = "debian13"
)

// OSEnv names the environment variable that chooses the tree of the boxes
// a test run boots ("host" or "debian13", default host).
const OSEnv = "DOCKAH_BOX_OS"

// OSFromEnv returns the tree DOCKAH_BOX_OS asks for.
func OSFromEnv() (OS, error) {
	switch v := os.Getenv(OSEnv); v {
	case "", string(Host):
		return Host, nil
	case string(Debian13):
		return Debian13, nil
	default:
		return "", fmt.Errorf("%s=%q: accepted values are %q and %q", OSEnv, v, Host, Debian13)
	}
}

// supports reports why the tree cannot boot with layout, or nil.
func (o OS) supports(layout CgroupLayout) error {
	if o == Debian13 && layout != Unified {
		// systemd 256 and later hold cgroup v1, hybrid included, for
		// obsolete: on a real host 257 ignores what asks for it unless
		// SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1 is on the kernel command
		// line. Under nspawn on this hybrid host it boots, but no longer
		// tracks units in the name=systemd hierarchy ("Failed to attach
		// ... to compat systemd cgroup"): a layout no host of it runs.
		return fmt.Errorf("%s=%s boots only with %s=%s: its systemd 257 holds cgroup v1 (hybrid included) for obsolete", OSEnv, o, LayoutEnv, Unified)
	}
	return nil
}

// OS returns the tree the box booted.
func (b *Box) OS() OS { return b.os }

// SystemdVersion returns the major version of the box's systemd (252,
// 257...), for the few tests whose expectations differ between versions.
// It is read once, from "systemctl --version" in the box.
func (b *Box) SystemdVersion() (int, error) {
	if b.systemd != 0 {
		return b.systemd, nil
	}
	out, err := b.Run("systemctl", "--version")
	if err != nil {
		return 0, err
	}
	v, err := parseSystemdVersion(out)
	if err != nil {
		return 0, err
	}
	b.systemd = v
	return v, nil
}

// parseSystemdVersion reads the major version from the first line of
// "systemctl --version": "systemd 257 (257.13-1~deb13u1)".
func parseSystemdVersion(out string) (int, error) {
	first, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(first)
	if len(f) < 2 || f[0] != "systemd" {
		return 0, fmt.Errorf("systemctl --version: unexpected %q", first)
	}
	v, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, fmt.Errorf("systemctl --version: unexpected %q", first)
	}
	return v, nil
}
