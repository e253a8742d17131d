package launch

import (
	"fmt"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/merged"
	"github.com/dockah/dockah/unitgen"
)

// namedVolumes are the definition's named volumes.
func namedVolumes(def *unitgen.Definition) []namedVolume {
	var out []namedVolume
	for _, v := range def.Volumes {
		if v.IsNamed() {
			out = append(out, namedVolume{Source: v.Source, Target: v.Target, Copy: v.Copy})
		}
	}
	return out
}

// makeNamedVolumes creates the named volumes that do not exist yet, each
// filled with what the image (its layer dirs lower, topmost first) has at
// its target unless copy = false, as Docker and Podman do on a volume's
// first use. A volume that exists, even empty, is never touched again:
// for it this costs one lstat.
func makeNamedVolumes(store *rootfs.Store, volumes []namedVolume, lower []string, log func(string)) error {
	for _, v := range volumes {
		var fill func(string) error
		var stats merged.Stats
		if v.Copy {
			fill = func(dir string) error {
				var err error
				stats, err = seedVolume(lower, v.Target, dir)
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
func seedVolume(lower []string, target, dir string) (merged.Stats, error) {
	view, err := merged.Open(lower)
	if err != nil {
		return merged.Stats{}, err
	}
	defer view.Close()
	return view.Copy(target, dir)
}

// volumeNote is the journal's line about a new volume.
func volumeNote(v namedVolume, st merged.Stats) string {
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
