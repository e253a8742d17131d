package build

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/rootfs/merged"
)

// copyFlags are the flags of a COPY or ADD, expanded.
type copyFlags struct {
	instr        string
	from         string
	chown, chmod string
	unpack       bool
}

// copy makes a COPY's or ADD's layer directly from the files, without a
// container, and stores it unless the cache has the step.
func (b *builder) copy(st *state, sd instructions.SourcesAndDest, f copyFlags, code string, args []string, i int) (*state, error) {
	if len(sd.SourceContents) > 0 {
		return nil, fmt.Errorf("%s with a heredoc is not supported", f.instr)
	}
	parent, err := b.view(st.id)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	src, fromID, err := b.source(f.from, i)
	if err != nil {
		return nil, err
	}
	if c, ok := src.(imageTree); ok {
		defer c.v.Close()
	}
	op := copyOp{instr: f.instr, sources: sd.SourcePaths, dest: absDest(st.cfg.Config.WorkingDir, sd.DestPath), unpack: f.instr == "ADD" && f.unpack, now: b.o.Now().UTC()}
	if op.chmod, err = parseChmod(f.chmod); err != nil {
		return nil, err
	}
	if op.chown, err = parseChown(f.chown, b.imageFile(parent, "/etc/passwd"), b.imageFile(parent, "/etc/group")); err != nil {
		return nil, err
	}
	tmp, err := b.o.Store.TempDir()
	if err != nil {
		return nil, err
	}
	defer tmp.Remove()
	tarPath := filepath.Join(tmp.Path, "layer.tar")
	out, err := os.Create(tarPath)
	if err != nil {
		return nil, err
	}
	res, err := writeCopy(out, parent, src, op)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return b.cached(st, code, args, fromID+res.content, func() (*state, error) {
		info, err := archive.StoreLayer(b.o.Store, func() (io.ReadCloser, error) { return os.Open(tarPath) }, nil)
		if err != nil {
			return nil, err
		}
		what := res.kind + ":" + res.content
		return b.store(cloneImage(st.cfg), copyHistory(f.instr, f.from, what, sd.DestPath), info.DiffID)
	})
}

// view opens the merged view of the image id's layers.
func (b *builder) view(id string) (*merged.View, error) {
	img, err := b.o.Store.Resolve(id)
	if err != nil {
		return nil, err
	}
	lower := make([]string, 0, len(img.Layers))
	for i := len(img.Layers) - 1; i >= 0; i-- {
		lower = append(lower, img.Layers[i].Dir)
	}
	return merged.Open(lower)
}

// source is where COPY's files come from: the context, a stage before
// stage i, or an image (--from), with the image's ID for the cache key.
func (b *builder) source(from string, i int) (tree, string, error) {
	if from == "" {
		return contextTree{b.o.Context}, "", nil
	}
	var id string
	if j, ok := b.stageBefore(from, i); ok {
		id = b.stages[j].id
	} else {
		img, err := b.o.Store.Resolve(from)
		if err != nil {
			return nil, "", fmt.Errorf("--from=%s: not a stage before this one, nor an image in the store: %w", from, err)
		}
		id = img.ID
	}
	v, err := b.view(id)
	if err != nil {
		return nil, "", err
	}
	return imageTree{v}, id, nil
}

// imageFile opens a file of the image in v (for --chown's names).
func (b *builder) imageFile(v *merged.View, p string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		e, ok, err := v.Lookup(p, true)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: %w", p, rootfs.ErrNotFound)
		}
		return v.Open(e)
	}
}
