// Package benchimage is the one image the benchmark programs under bench/
// run: the hello server (bin/hello, static Go) as its entrypoint, busybox
// for /bin/true, and the directories systemd-nspawn wants to find in a
// read-only tree.
package benchimage

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// Entries are the image's files, for images.WriteTar; bin/hello must be
// built (make build).
func Entries() ([]images.Entry, error) {
	project, err := box.FindProjectDir()
	if err != nil {
		return nil, err
	}
	hello := filepath.Join(project, "bin/hello")
	if _, err := os.Stat(hello); err != nil {
		return nil, fmt.Errorf("%w (run make build)", err)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return nil, fmt.Errorf("/bin/true of the image is busybox (Debian package busybox-static): %w", err)
	}
	entries := []images.Entry{
		{Name: "hello", Source: hello},
		{Name: "bin", Dir: true},
		{Name: "bin/busybox", Source: busybox},
		{Name: "bin/true", Link: "busybox"},
		{Name: "tmp", Dir: true, Mode: 0o1777},
	}
	for _, d := range []string{"dev", "etc", "proc", "run", "sys", "usr", "var"} {
		entries = append(entries, images.Entry{Name: d, Dir: true})
	}
	return entries, nil
}

// Ref is a name the image is imported under, with its entrypoint.
type Ref struct{ Name, Entrypoint string }

// Import writes the image as a tar under the box's store, in dir (a bind
// of the host's file system: overlayfs cannot live on the box's own
// overlay root), and imports it once per ref; the layer is stored once.
func Import(b *box.Box, dir string, refs ...Ref) error {
	entries, err := Entries()
	if err != nil {
		return err
	}
	if err := images.WriteTar(filepath.Join(b.StoreDir(), dir, "image.tar"), entries); err != nil {
		return err
	}
	for _, ref := range refs {
		if _, err := b.Run("dockah", "image", "import", "-q", "/var/lib/dockah/"+dir+"/image.tar", "--name", ref.Name, "--entrypoint", ref.Entrypoint); err != nil {
			return err
		}
	}
	return nil
}
