package security

import (
	"bufio"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// The box's files a hostile image aims at: a directory with a marker,
// and a marker in the box's /etc. Neither may change, and nothing may be
// mounted on them.
const (
	escapeDir     = "/opt/dockah-escape"
	escapeMarker  = escapeDir + "/escape-marker"
	etcMarker     = "/etc/dockah-escape-marker"
	markerContent = "the box's own file\n"
	volumeDir     = "/opt/dockah-attack-volume"
	volumeMarker  = "volume-marker"
)

// logLayout logs what the container saw: its mounts and the looked-at
// paths.
func logLayout(t *testing.T, run *probeRun) {
	t.Helper()
	var b strings.Builder
	for _, m := range run.mounts {
		fmt.Fprintf(&b, "  mount %-22s %-8s %s\n", m.Point, m.Type, m.Source)
	}
	for _, l := range run.looks {
		fmt.Fprintf(&b, "  look  %-22s exists=%v kind=%q fs=%s entries=%v\n", l.Look, l.Exists, l.Kind, l.FS, l.Entries)
	}
	t.Logf("inside the container:\n%s", b.String())
}

// plantMarkers writes the box's marker files.
func plantMarkers(t *testing.T, b *box.Box) {
	t.Helper()
	for _, p := range []string{escapeMarker, etcMarker, volumeDir + "/" + volumeMarker} {
		if err := b.WriteFile(p, []byte(markerContent), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkBoxUntouched proves, from the box's side, that no container wrote
// into or mounted over the box's files: the escape directory holds only
// its marker, the markers are unchanged, the volume holds only its own
// file, and no process of the box has a mount on any of them.
func checkBoxUntouched(t *testing.T, b *box.Box) {
	t.Helper()
	for dir, want := range map[string][]string{
		escapeDir: {"escape-marker"},
		volumeDir: {volumeMarker},
	} {
		out, err := b.Run("ls", "-A", dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(out); !slices.Equal(got, want) {
			t.Errorf("the box's %s holds %v, want only %v", dir, got, want)
		}
	}
	for _, p := range []string{escapeMarker, etcMarker, volumeDir + "/" + volumeMarker} {
		if out, err := b.Run("cat", p); err != nil || out != markerContent {
			t.Errorf("the box's %s: %q, %v; want %q", p, out, err, markerContent)
		}
	}
	// Every process of the box, in whatever mount namespace.
	out, err := b.Run("sh", "-c", "for f in /proc/[0-9]*/mountinfo; do cat $f 2>/dev/null; done")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		point := fields[4]
		if point == "/etc" || point == etcMarker || point == escapeDir || strings.HasPrefix(point, escapeDir+"/") ||
			point == volumeDir || strings.HasPrefix(point, volumeDir+"/") {
			t.Errorf("a process of the box has a mount on %s: %s", point, sc.Text())
		}
	}
}

// TestImageDevSymlinkDoesNotEscape: an image whose /dev, /proc and /sys
// are symlinks out of the root (relative with many "..", and absolute)
// still gets fresh /dev, /proc and /sys inside its root, and nothing of
// the box is touched.
func TestImageDevSymlinkDoesNotEscape(t *testing.T) {
	b := attackBox(t)
	plantMarkers(t, b)
	entries := append(probeEntries(t, b),
		images.Entry{Name: "dev", Link: "../../../../../../../.." + escapeDir},
		images.Entry{Name: "proc", Link: "/etc"},
		images.Entry{Name: "sys", Link: escapeDir},
	)
	images.Import(t, b, "hostile-dev:test", entries, "--entrypoint", "/attack")
	run := mustStart(t, b, "attack-devlink", `[container]
image = "hostile-dev:test"
command = ["-no-attacks", "-look", "/dev", "-look", "/dev/null", "-look", "/proc", "-look", "/sys", "-look", "`+escapeDir+`"]
`)
	logLayout(t, run)
	for point, fs := range map[string]string{"/dev": "tmpfs", "/proc": "proc", "/sys": "sysfs"} {
		m, ok := run.hasMount(point)
		if !ok || m.Type != fs {
			t.Errorf("inside, %s is %+v (mounted: %v), want a fresh %s", point, m, ok, fs)
		}
		if l := run.looks[point]; l.Kind != "dir" || l.FS != fs {
			t.Errorf("inside, %s is %+v, want a directory on %s", point, l, fs)
		}
	}
	if l := run.looks["/dev/null"]; l.Kind != "char 1:3" {
		t.Errorf("inside, /dev/null is %+v, want the character device 1:3", l)
	}
	if l := run.looks[escapeDir]; l.Exists {
		t.Errorf("inside, %s exists (%+v): something followed the image's symlinks", escapeDir, l)
	}
	for _, m := range run.mounts {
		if m.Point == "/etc" || m.Point == escapeDir {
			t.Errorf("inside, a mount landed on a symlink's target: %+v", m)
		}
	}
	checkBoxUntouched(t, b)
}

// TestVolumeTargetSymlinkDoesNotEscape: a volume whose target is a
// symlink out of the root ("/../../../opt/dockah-escape", CVE-2021-30465's
// shape) is resolved inside the root: the volume shows up where the link
// points inside the container, and the box's directory of that name is
// untouched.
func TestVolumeTargetSymlinkDoesNotEscape(t *testing.T) {
	b := attackBox(t)
	plantMarkers(t, b)
	entries := append(probeEntries(t, b),
		images.Entry{Name: "opt", Dir: true},
		images.Entry{Name: escapeDir[1:], Dir: true},
		images.Entry{Name: escapeDir[1:] + "/image-marker", Data: []byte("the image's own file\n"), Mode: 0o644},
		images.Entry{Name: "data", Link: "/../../.." + escapeDir},
	)
	images.Import(t, b, "hostile-volume:test", entries, "--entrypoint", "/attack")
	run := mustStart(t, b, "attack-volumelink", `[container]
image = "hostile-volume:test"
command = ["-no-attacks", "-look", "/data", "-look", "/data/`+volumeMarker+`", "-look", "`+escapeDir+`"]

[[volume]]
source = "`+volumeDir+`"
target = "/data"
idmap = false # the box's own root (overlayfs) cannot be idmapped
`)
	logLayout(t, run)
	if l := run.looks["/data/"+volumeMarker]; !l.Exists || l.Content != markerContent {
		t.Errorf("inside, the volume is not at /data: /data/%s is %+v", volumeMarker, l)
	}
	if l := run.looks[escapeDir]; !slices.Equal(l.Entries, []string{volumeMarker}) {
		t.Errorf("inside, %s holds %v, want the volume over the image's directory", escapeDir, l.Entries)
	}
	if _, ok := run.hasMount(escapeDir); !ok {
		t.Errorf("inside, no mount at %s, where /data points in the root: %+v", escapeDir, run.mounts)
	}
	checkBoxUntouched(t, b)
}

// TestVolumeTargetDanglingSymlinkDoesNotEscape: the same link, but the
// image has nothing where it points, while the box does. The container
// may refuse to start or mount the volume inside its root; it must not
// reach the box's directory.
func TestVolumeTargetDanglingSymlinkDoesNotEscape(t *testing.T) {
	b := attackBox(t)
	plantMarkers(t, b)
	entries := append(probeEntries(t, b), images.Entry{Name: "data", Link: "../../../../../.." + escapeDir})
	images.Import(t, b, "hostile-dangling:test", entries, "--entrypoint", "/attack")
	run, ok, journal := start(t, b, "attack-dangling", `[container]
image = "hostile-dangling:test"
command = ["-no-attacks", "-look", "/data/`+volumeMarker+`"]

[[volume]]
source = "`+volumeDir+`"
target = "/data"
idmap = false # the box's own root (overlayfs) cannot be idmapped
`)
	if !ok {
		t.Logf("the container did not start, which is safe: %s", journal)
	} else if l := run.looks["/data/"+volumeMarker]; !l.Exists {
		t.Errorf("the container started without its volume at /data: %+v", run.mounts)
	} else if _, inside := run.hasMount(escapeDir); !inside {
		t.Errorf("inside, no mount at %s, where /data points in the root: %+v", escapeDir, run.mounts)
	}
	checkBoxUntouched(t, b)
}
