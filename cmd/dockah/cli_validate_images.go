package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/unitgen"
)

// warnImages prints a warning line for each definition whose image the
// store at root does not have, or names ambiguously: the definition is
// valid, but its start will pull the image or fail. A store that does not
// exist is not created; it has no image.
func warnImages(w io.Writer, root string, defs []*unitgen.Definition) {
	if len(defs) == 0 {
		return
	}
	st, err := openExistingStore(root)
	if err != nil {
		fmt.Fprintf(w, "WARNING: images not checked: %v\n", err)
		return
	}
	for _, d := range defs {
		if msg := imageWarning(st, d); msg != "" {
			fmt.Fprintf(w, "WARNING: %s: %s\n", d.Name, msg)
		}
	}
}

// openExistingStore opens the store at root, or returns nil when there is
// none: checking definitions must not create /var/lib/dockah.
func openExistingStore(root string) (*rootfs.Store, error) {
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return rootfs.Open(root)
}

// imageWarning says what is wrong with d's image in st (nil: an empty
// store), or "" when the store has it.
func imageWarning(st *rootfs.Store, d *unitgen.Definition) string {
	image := d.Container.Image
	if d.IsTemplate() && strings.Contains(image, "%") {
		return "" // each instance names its own image
	}
	if st == nil {
		return missingImage(d)
	}
	_, err := st.Resolve(image)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, rootfs.ErrNotFound):
		return missingImage(d)
	}
	return err.Error() // an ambiguous short name, an unreadable store
}

// missingImage says that d's image is missing and what a start of d does
// about it.
func missingImage(d *unitgen.Definition) string {
	return fmt.Sprintf("image %s is not in the store (pull = %q: %s)", d.Container.Image, d.Container.Pull.String(), pullOutcome(d.Container.Pull))
}

// pullOutcome says what starting a container whose image is missing does
// under pull policy p.
func pullOutcome(p unitgen.PullPolicy) string {
	switch p {
	case unitgen.PullNever:
		return "the start will fail until it is imported or pulled"
	case unitgen.PullAlways:
		return "it will be pulled at every start"
	}
	return "it will be pulled on first start"
}
