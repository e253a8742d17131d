package launch

import (
	"fmt"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/merged"
	"github.com/dockah/dockah/unitgen"
)

// makeNamedVolumes creates the named volumes of a definition that do not
// exist yet, each filled with what the image has at its target unless
// copy = false, as Docker and Podman do on a volume's first use. A volume
// that exists, even empty, is never touched again: for it this costs one
// lstat.
func makeNamedVolumes(store *rootfs.Store, def *unitgen.Definition, image *rootfs.Image, log func(string)) error {
	for _, v := range def.Volumes {
		if !v.IsNamed() {
			continue
		}
		var fill func(string) error
		var stats merged.Stats
		if v.Copy {
			fill = func(dir string) error {
				var err error
				stats, err = seedVolume(image, v.Target, dir)
				return err
			}
		}
		created, err := store.CreateVolume(v.Source, fill)
		if err != nil {
			return err
		}
		if created && log != nil {
			log(volumeNote(v, stats))
		}
	}
	return nil
}

// seedVolume copies the image's content at target into dir.
func seedVolume(image *rootfs.Image, target, dir string) (merged.Stats, error) {
	lower := make([]string, 0, len(image.Layers))
	for i := len(image.Layers) - 1; i >= 0; i-- {
		lower = append(lower, image.Layers[i].Dir)
	}
	view, err := merged.Open(lower)
	if err != nil {
		return merged.Stats{}, err
	}
	defer view.Close()
	return view.Copy(target, dir)
}

// volumeNote is the journal's line about a new volume.
func volumeNote(v unitgen.Volume, st merged.Stats) string {
	switch {
	case !v.Copy:
		return fmt.Sprintf("volume %s created empty (copy = false)", v.Source)
	case !st.Found:
		return fmt.Sprintf("volume %s created empty: the image has no directory at %s", v.Source, v.Target)
	}
	note := fmt.Sprintf("volume %s created with the image's content at %s: %d entries, %d bytes", v.Source, v.Target, st.Entries, st.Bytes)
	if st.Skipped > 0 {
		note += fmt.Sprintf(", %d device nodes or sockets left out", st.Skipped)
	}
	return note
}
