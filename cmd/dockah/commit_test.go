//go:build !lean

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
)

func TestCommitContainer(t *testing.T) {
	running := unitState{Load: "loaded", Active: "active"}
	tests := []struct {
		desc   string
		name   string
		force  bool
		quiet  bool
		states map[string]unitState
		// readOnly plans the container without a writable layer.
		readOnly bool
		// wantErr is the error; empty for a commit that works.
		wantErr  string
		wantWarn string
	}{
		{desc: "stopped", name: "web"},
		{desc: "failed", name: "web", states: map[string]unitState{"web.service": {Load: "loaded", Active: "failed"}}},
		{desc: "running", name: "web", states: map[string]unitState{"web.service": running},
			wantErr: "commit web: web.service is active, and dockah does not pause it: files changing while read would be committed half written (stop it first, or use --force)"},
		{desc: "activating", name: "web", states: map[string]unitState{"web.service": {Load: "loaded", Active: "activating"}},
			wantErr: "web.service is activating"},
		{desc: "running, forced", name: "web", force: true, states: map[string]unitState{"web.service": running},
			wantWarn: "dockah: warning: web.service is active: its files are committed as they are read, and dockah does not pause it"},
		{desc: "running, forced and quiet", name: "web", force: true, quiet: true, states: map[string]unitState{"web.service": running}},
		{desc: "read_only", name: "ro", readOnly: true,
			wantErr: "container ro has no writable layer: it runs with read_only = true; nothing to commit"},
		// The definition no longer says read_only: only the store's word.
		{desc: "no writable layer", name: "web", readOnly: true, wantErr: "container web has no writable layer: nothing to commit"},
		{desc: "never started", name: "new", wantErr: "commit new: container new: not found"},
		{desc: "template", name: "web@", wantErr: "commit web@: container web@: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
			if err != nil {
				t.Fatal(err)
			}
			importImage(t, st, "web:1")
			if tt.name != "new" && tt.name != "web@" {
				if _, err := st.MountPlan("web:1", tt.name, rootfs.MountOptions{ReadOnly: tt.readOnly}); err != nil {
					t.Fatal(err)
				}
			}
			root := sysroot(t, map[string]string{
				"web.toml":  "[container]\nimage = \"web:1\"\n",
				"web@.toml": "[container]\nimage = \"web:1\"\n",
				"ro.toml":   "[container]\nimage = \"web:1\"\nread_only = true\n",
			})
			units := &fakeUnits{states: tt.states}
			var warnings bytes.Buffer
			cm := &committer{store: st, fsys: os.DirFS(root), state: units.control().state, force: tt.force, quiet: tt.quiet, errOut: &warnings}

			img, err := cm.commit(context.Background(), tt.name, "web:committed", archive.CommitOptions{})

			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("commit %s = %v, want error %q", tt.name, err, tt.wantErr)
			}
			if !strings.Contains(warnings.String(), tt.wantWarn) || tt.wantWarn == "" && warnings.Len() > 0 {
				t.Errorf("warnings %q, want %q", warnings.String(), tt.wantWarn)
			}
			committed, rerr := st.Resolve("web:committed")
			if tt.wantErr != "" {
				if !errors.Is(rerr, rootfs.ErrNotFound) {
					t.Errorf("a refused commit named an image: %v", rerr)
				}
				return
			}
			if rerr != nil || committed.ID != img.ID || len(committed.Layers) != 2 {
				t.Errorf("web:committed = %+v, %v; want the committed image with two layers", committed, rerr)
			}
		})
	}
}

// TestCommitWithoutSystemd: a forced commit does not need systemd (the
// check is skipped when it cannot be asked).
func TestCommitWithoutSystemd(t *testing.T) {
	st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	importImage(t, st, "web:1")
	if _, err := st.MountPlan("web:1", "web", rootfs.MountOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &committer{store: st, fsys: os.DirFS(t.TempDir()), force: true, errOut: &bytes.Buffer{}}
	if _, err := cm.commit(context.Background(), "web", "web:committed", archive.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestCommitStateError: without --force, a commit that cannot learn
// whether the container runs does not commit.
func TestCommitStateError(t *testing.T) {
	st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	cm := &committer{store: st, fsys: os.DirFS(t.TempDir()), errOut: &bytes.Buffer{},
		state: func(context.Context, string) (unitState, error) {
			return unitState{}, errors.New("ask systemd about web.service: connection closed")
		}}
	_, err = cm.commit(context.Background(), "web", "web:committed", archive.CommitOptions{})
	if err == nil || err.Error() != "commit web: ask systemd about web.service: connection closed" {
		t.Errorf("commit = %v", err)
	}
}
