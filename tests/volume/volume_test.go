package volume

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

const (
	image    = "seed:test"
	seedText = "seeded by the image"
	// hostDir is a directory of the box that the image's /escape points at
	// and the image itself does not have.
	hostDir    = "/opt/dockah-volume-host"
	hostSecret = "the box's own file\n"
)

var setupOnce sync.Once

// volumeBox imports the seed image, once for the package: busybox, and
// content at /data (owned by app, uid 1000) for a volume to start with.
func volumeBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() {
		entries := append(images.Busybox(t, "sh", "cat", "ls", "id", "rm"),
			images.Entry{Name: "data", Dir: true, Mode: 0o750, UID: 1000, GID: 1000},
			images.Entry{Name: "data/seed.txt", Data: []byte(seedText + "\n"), Mode: 0o640, UID: 1000, GID: 1000},
			images.Entry{Name: "data/sub", Dir: true, Mode: 0o755},
			images.Entry{Name: "data/sub/nested.txt", Data: []byte("nested\n"), Mode: 0o644},
			images.Entry{Name: "data/passwd", Link: "/etc/passwd"},
			images.Entry{Name: "data/su", Data: []byte("#!/bin/sh\n"), Mode: 0o4755},
			images.Entry{Name: "srv", Dir: true},
			images.Entry{Name: "srv/real", Dir: true, Mode: 0o755},
			images.Entry{Name: "srv/real/seed.txt", Data: []byte("through the link\n"), Mode: 0o644},
			images.Entry{Name: "linked", Link: "/srv/real"},
			images.Entry{Name: "escape", Link: "../../../../../.." + hostDir},
		)
		images.Import(t, b, image, entries)
		if err := b.WriteFile(hostDir+"/host-secret", []byte(hostSecret), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// define writes the definition of the container name and reloads.
func define(t *testing.T, b *box.Box, name, text string) {
	t.Helper()
	path := "/etc/dockah/containers/" + name + ".toml"
	if err := b.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = b.Systemctl("stop", name+".service")
		_ = os.Remove(b.Path(path))
		_, _ = b.Systemctl("daemon-reload")
		_, _ = b.Systemctl("reset-failed", name+".service")
	})
}

// runOnce starts the container name, whose command ends by itself, waits
// until it has, and returns the unit's whole journal.
func runOnce(t *testing.T, b *box.Box, name string) string {
	t.Helper()
	_, _ = b.Systemctl("reset-failed", name+".service")
	if out, err := b.Systemctl("start", name+".service"); err != nil {
		journal, _ := b.Journal(name + ".service")
		t.Fatalf("start %s: %v\n%s\n%s", name, err, out, journal)
	}
	if err := b.WaitUnitState(name+".service", 30*time.Second, "inactive", "failed"); err != nil {
		t.Fatal(err)
	}
	journal, err := b.Journal(name + ".service")
	if err != nil {
		t.Fatal(err)
	}
	return journal
}

// volumePath is the host path of a file in a named volume of the box.
func volumePath(b *box.Box, name, rel string) string {
	return filepath.Join(b.StoreDir(), "volumes", name, "_data", rel)
}

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func listVolume(t *testing.T, b *box.Box, name string) []string {
	t.Helper()
	entries, err := os.ReadDir(volumePath(b, name, ""))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestVolumeStartsWithImageContent: the first start finds the image's
// /data in the new volume, with its owner (the container runs as app and
// reads a 0640 file of app's), mode, symlinks as links and no setuid bit;
// what the container then writes is still there at the next start, which
// copies nothing again.
func TestVolumeStartsWithImageContent(t *testing.T) {
	b := volumeBox(t)
	const name = "vol-seed"
	define(t, b, name, `[container]
image = "`+image+`"
user = "app"
entrypoint = ["/bin/sh", "-c", "echo uid $(id -u); while read -r l; do echo \"seen: $l\"; done < /data/seed.txt; echo 'written by the container' >> /data/seed.txt && echo run-done"]

[[volume]]
source = "seeded"
target = "/data"
`)
	journal := runOnce(t, b, name)
	for _, want := range []string{"uid 1000", "seen: " + seedText, "run-done", "volume seeded created with the image's content at /data"} {
		if !strings.Contains(journal, want) {
			t.Errorf("first start: the journal has no %q:\n%s", want, journal)
		}
	}
	if strings.Contains(journal, "seen: written by the container") {
		t.Errorf("first start saw a write before it made it:\n%s", journal)
	}

	for _, c := range []struct {
		rel      string
		uid, gid uint32
		mode     uint32
	}{
		{"", 1000, 1000, unix.S_IFDIR | 0o750},
		{"seed.txt", 1000, 1000, unix.S_IFREG | 0o640},
		{"sub", 0, 0, unix.S_IFDIR | 0o755},
		{"sub/nested.txt", 0, 0, unix.S_IFREG | 0o644},
		{"passwd", 0, 0, unix.S_IFLNK | 0o777},
		{"su", 0, 0, unix.S_IFREG | 0o755},
	} {
		st := lstat(t, volumePath(b, "seeded", c.rel))
		if st.Uid != c.uid || st.Gid != c.gid || st.Mode != c.mode {
			t.Errorf("volume seeded, %q: %d:%d %#o, want %d:%d %#o", c.rel, st.Uid, st.Gid, st.Mode, c.uid, c.gid, c.mode)
		}
	}
	if target, err := os.Readlink(volumePath(b, "seeded", "passwd")); err != nil || target != "/etc/passwd" {
		t.Errorf("passwd in the volume: %q, %v; want the image's link to /etc/passwd", target, err)
	}

	journal = runOnce(t, b, name)
	if n := strings.Count(journal, "run-done"); n != 2 {
		t.Fatalf("%d runs in the journal, want 2:\n%s", n, journal)
	}
	if !strings.Contains(journal, "seen: written by the container") {
		t.Errorf("the second start does not see what the first wrote:\n%s", journal)
	}
	if n := strings.Count(journal, "volume seeded created"); n != 1 {
		t.Errorf("the volume was created %d times, want once:\n%s", n, journal)
	}
	data, err := os.ReadFile(volumePath(b, "seeded", "seed.txt"))
	if want := seedText + "\nwritten by the container\nwritten by the container\n"; err != nil || string(data) != want {
		t.Errorf("seed.txt after two starts: %q, %v; want %q", data, err, want)
	}
}

// TestVolumeCopyFalse: with copy = false the new volume is empty, mode
// 0755 and root's, whatever the image has at the target.
func TestVolumeCopyFalse(t *testing.T) {
	b := volumeBox(t)
	const name = "vol-blank"
	define(t, b, name, `[container]
image = "`+image+`"
entrypoint = ["/bin/sh", "-c", "ls -A /data; echo run-done"]

[[volume]]
source = "blank"
target = "/data"
copy = false
`)
	journal := runOnce(t, b, name)
	if !strings.Contains(journal, "run-done") || !strings.Contains(journal, "volume blank created empty (copy = false)") {
		t.Errorf("journal:\n%s", journal)
	}
	if got := listVolume(t, b, "blank"); len(got) != 0 {
		t.Errorf("volume blank holds %v, want nothing", got)
	}
	if st := lstat(t, volumePath(b, "blank", "")); st.Uid != 0 || st.Mode != unix.S_IFDIR|0o755 {
		t.Errorf("volume blank: owner %d mode %#o, want root's 0755 directory", st.Uid, st.Mode)
	}
}

// TestVolumeTargetSymlink: a target that is a symlink in the image
// (/linked -> /srv/real) gives the content where it points in the image;
// one that points out of the image at a directory the box has gives an
// empty volume, and the box's directory is untouched.
func TestVolumeTargetSymlink(t *testing.T) {
	b := volumeBox(t)
	define(t, b, "vol-link", `[container]
image = "`+image+`"
entrypoint = ["/bin/sh", "-c", "cat /linked/seed.txt; echo run-done"]

[[volume]]
source = "via-link"
target = "/linked"
`)
	journal := runOnce(t, b, "vol-link")
	if !strings.Contains(journal, "through the link") || !strings.Contains(journal, "run-done") {
		t.Errorf("journal:\n%s", journal)
	}
	if got := listVolume(t, b, "via-link"); !slices.Equal(got, []string{"seed.txt"}) {
		t.Errorf("volume via-link holds %v, want the image's /srv/real", got)
	}

	define(t, b, "vol-escape", `[container]
image = "`+image+`"
entrypoint = ["/bin/sh", "-c", "ls -A /escape; echo run-done"]

[[volume]]
source = "escape"
target = "/escape"
`)
	// The container may refuse to start (the link dangles in the image);
	// the volume is created before, and must hold nothing of the box's.
	_, _ = b.Systemctl("start", "vol-escape.service")
	_ = b.WaitUnitState("vol-escape.service", 30*time.Second, "inactive", "failed")
	journal, _ = b.Journal("vol-escape.service")
	if got := listVolume(t, b, "escape"); len(got) != 0 {
		t.Errorf("volume escape holds %v, copied from the box's %s:\n%s", got, hostDir, journal)
	}
	if data, err := os.ReadFile(b.Path(hostDir + "/host-secret")); err != nil || string(data) != hostSecret {
		t.Errorf("the box's file: %q, %v", data, err)
	}
	if entries, _ := os.ReadDir(b.Path(hostDir)); len(entries) != 1 {
		t.Errorf("the box's %s has %d entries, want its one file", hostDir, len(entries))
	}
}

// TestVolumeAfterWhiteout: a file the container deleted, committed as a
// whiteout in a new layer, is not in a new volume of the committed image.
func TestVolumeAfterWhiteout(t *testing.T) {
	b := volumeBox(t)
	define(t, b, "vol-pruner", `[container]
image = "`+image+`"
entrypoint = ["/bin/sh", "-c", "rm /data/sub/nested.txt && echo run-done"]
`)
	if journal := runOnce(t, b, "vol-pruner"); !strings.Contains(journal, "run-done") {
		t.Fatalf("the pruner did not run:\n%s", journal)
	}
	if out, err := b.Run("dockah", "commit", "vol-pruner", "seed:pruned"); err != nil {
		t.Fatalf("dockah commit: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = b.Run("dockah", "image", "rm", "seed:pruned") })
	define(t, b, "vol-pruned", `[container]
image = "seed:pruned"
entrypoint = ["/bin/sh", "-c", "ls -A /data/sub; echo run-done"]

[[volume]]
source = "pruned"
target = "/data"
`)
	if journal := runOnce(t, b, "vol-pruned"); !strings.Contains(journal, "run-done") {
		t.Errorf("journal:\n%s", journal)
	}
	if got := listVolume(t, b, "pruned"); !slices.Equal(got, []string{"passwd", "seed.txt", "su", "sub"}) {
		t.Errorf("volume pruned holds %v", got)
	}
	if _, err := os.Lstat(volumePath(b, "pruned", "sub/nested.txt")); !os.IsNotExist(err) {
		t.Errorf("sub/nested.txt, deleted in the committed layer, is in the volume: %v", err)
	}
}
