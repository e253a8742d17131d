package build

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/dockah/dockah/rootfs/archive"
)

// workdir runs WORKDIR: the config's working directory, and, when the
// image has no directory there, a layer that makes it, owned by the
// stage's USER, as BuildKit does (so that a later RUN as that user can
// write in it).
func (b *builder) workdir(st *state, ss *stageState, c *instructions.WorkdirCommand, code string, args []string) (*state, error) {
	return b.cached(st, code, args, "", func() (*state, error) {
		cfg := cloneImage(st.cfg)
		if _, err := applyConfig(&cfg, ss, c); err != nil {
			return nil, err
		}
		v, err := b.view(st.id)
		if err != nil {
			return nil, err
		}
		defer v.Close()
		if e, ok, err := v.Lookup(cfg.Config.WorkingDir, true); err != nil {
			return nil, err
		} else if ok && e.IsDir() {
			return b.store(cfg, configHistory(code), "")
		}
		own, err := userOwner(cfg.Config.User, b.imageFile(v, "/etc/passwd"), b.imageFile(v, "/etc/group"))
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		cp := &copier{tw: tar.NewWriter(&buf), content: sha256.New(), written: map[string]bool{},
			op: copyOp{instr: "WORKDIR", chown: own, now: b.o.Now().UTC()}}
		if _, err := cp.destDir(v, cfg.Config.WorkingDir); err != nil {
			return nil, err
		}
		if err := cp.tw.Close(); err != nil {
			return nil, err
		}
		info, err := archive.StoreLayer(b.o.Store, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, nil)
		if err != nil {
			return nil, err
		}
		return b.store(cfg, configHistory(code), info.DiffID)
	})
}

// userOwner is the owner of what USER user creates: its uid and group
// (a user without a group takes its primary group from /etc/passwd);
// nil for root or no USER.
func userOwner(user string, passwd, group func() (io.ReadCloser, error)) (*owner, error) {
	name, grp, hasGroup := strings.Cut(user, ":")
	if (name == "" || name == "root" || name == "0") && !hasGroup {
		return nil, nil
	}
	uid, err := lookupID(name, passwd, 2)
	if err != nil {
		return nil, err
	}
	gid := 0
	switch _, numeric := strconv.Atoi(name); {
	case hasGroup:
		gid, err = lookupID(grp, group, 2)
	case numeric != nil:
		gid, err = lookupID(name, passwd, 3)
	}
	if err != nil {
		return nil, err
	}
	return &owner{uid: uid, gid: gid}, nil
}
