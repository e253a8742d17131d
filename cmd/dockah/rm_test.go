package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/rootfs"
)

// fakeUnits is systemd as far as rm asks it: the state of each unit, and
// the stop jobs asked for.
type fakeUnits struct {
	states  map[string]unitState
	stopErr error
	stopped []string
}

func (f *fakeUnits) control() unitControl {
	return unitControl{
		state: func(_ context.Context, unit string) (unitState, error) {
			if strings.HasSuffix(unit, "@.service") {
				return unitState{}, errors.New("Unit name " + unit + " is not valid.") // as systemd answers
			}
			if s, ok := f.states[unit]; ok {
				return s, nil
			}
			return unitState{Load: "not-found", Active: "inactive"}, nil
		},
		stop: func(_ context.Context, unit string) error {
			f.stopped = append(f.stopped, unit)
			return f.stopErr
		},
	}
}

func TestRemoveContainer(t *testing.T) {
	running := unitState{Load: "loaded", Active: "active"}
	tests := []struct {
		desc    string
		name    string
		force   bool
		states  map[string]unitState
		stopErr error
		// layer is whether name has a writable layer before rm.
		layer bool
		// wantErr is part of the error; empty for none.
		wantErr     string
		wantOut     string
		wantNote    string
		wantStopped []string
		// wantGone is whether the writable layer is gone after rm.
		wantGone bool
	}{
		{desc: "no definition, no unit", name: "gone", layer: true, wantOut: "gone\n", wantGone: true},
		{desc: "failed unit", name: "run-1", layer: true, states: map[string]unitState{"run-1.service": {Load: "loaded", Active: "failed"}}, wantOut: "run-1\n", wantGone: true},
		{desc: "definition", name: "web", layer: true, wantOut: "web\n", wantNote: "removed only the writable layer; the definition /etc/dockah/containers/web.toml stays", wantGone: true},
		{desc: "template instance", name: "web@blue", layer: true, wantOut: "web@blue\n", wantNote: "the definition /etc/dockah/containers/web@.toml stays", wantGone: true},
		{desc: "definition with problems", name: "broken", layer: true, wantOut: "broken\n", wantNote: "the definition /etc/dockah/containers/broken.toml stays", wantGone: true},
		{desc: "active unit", name: "run-2", layer: true, states: map[string]unitState{"run-2.service": running}, wantErr: "remove container run-2: run-2.service is active (stop it first, or use -f)"},
		{desc: "-f stops an active unit", name: "run-2", force: true, layer: true, states: map[string]unitState{"run-2.service": running}, wantOut: "run-2\n", wantStopped: []string{"run-2.service"}, wantGone: true},
		{desc: "-f stops a deactivating unit", name: "web", force: true, layer: true, states: map[string]unitState{"web.service": {Load: "loaded", Active: "deactivating"}}, wantOut: "web\n", wantNote: "removed only", wantStopped: []string{"web.service"}, wantGone: true},
		{desc: "-f whose stop fails", name: "run-3", force: true, layer: true, states: map[string]unitState{"run-3.service": running}, stopErr: errors.New("stop run-3.service: job failed"), wantErr: "stop run-3.service: job failed", wantStopped: []string{"run-3.service"}},
		{desc: "nothing at all", name: "nothing", wantErr: "no such container nothing"},
		{desc: "-f of nothing", name: "nothing", force: true, wantErr: "no such container nothing"},
		{desc: "definition without writable layer", name: "web", wantNote: "web has no writable layer to remove"},
		{desc: "unit without writable layer", name: "deleted", states: map[string]unitState{"deleted.service": {Load: "not-found", Active: "failed"}}, wantNote: "deleted has no writable layer to remove"},
		{desc: "template", name: "web@", wantErr: "no such container web@"},
		{desc: "name with a slash", name: "../etc", wantErr: `container name "../etc" has '/'`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
			if err != nil {
				t.Fatal(err)
			}
			importImage(t, st, "web:1")
			if tt.layer {
				if _, err := st.MountPlan("web:1", tt.name, rootfs.MountOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			root := sysroot(t, map[string]string{
				"web.toml":    "[container]\nimage = \"web:1\"\n",
				"web@.toml":   "[container]\nimage = \"web:1\"\n",
				"broken.toml": "[container]\nimage = \n",
			})
			units := &fakeUnits{states: tt.states, stopErr: tt.stopErr}
			var out, notes bytes.Buffer
			r := &containerRemover{store: st, fsys: os.DirFS(root), units: units.control(), force: tt.force, out: &out, errOut: &notes}

			err = r.remove(context.Background(), tt.name)

			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("rm %s = %v, want error %q", tt.name, err, tt.wantErr)
			}
			if tt.wantErr != "" && exitCode(err) != 1 {
				t.Errorf("exit status %d, want 1", exitCode(err))
			}
			if out.String() != tt.wantOut || !strings.Contains(notes.String(), tt.wantNote) || (tt.wantNote == "" && notes.Len() > 0) {
				t.Errorf("output %q, notes %q; want %q, a note with %q", out.String(), notes.String(), tt.wantOut, tt.wantNote)
			}
			if diff := cmp.Diff(tt.wantStopped, units.stopped); diff != "" {
				t.Errorf("stop jobs (-want +got):\n%s", diff)
			}
			names, err := st.Containers()
			if err != nil {
				t.Fatal(err)
			}
			if gone := !slices.Contains(names, tt.name); tt.layer && gone != tt.wantGone {
				t.Errorf("writable layer gone: %v, want %v", gone, tt.wantGone)
			}
		})
	}
}

// TestRemoveContainerFreesImage is the way out of "image in use by
// container NAME" for a container whose definition is gone.
func TestRemoveContainerFreesImage(t *testing.T) {
	st, err := rootfs.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	importImage(t, st, "old:1")
	if _, err := st.MountPlan("old:1", "old", rootfs.MountOptions{}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	ro := rootfs.RemoveOptions{InUse: inUseChecker(st, os.DirFS(root), &bytes.Buffer{})}
	if _, err := st.Remove("old:1", ro); !errors.Is(err, rootfs.ErrInUse) || !strings.Contains(err.Error(), "container old") {
		t.Fatalf("image rm before rm = %v, want in use by container old", err)
	}
	units := &fakeUnits{}
	r := &containerRemover{store: st, fsys: os.DirFS(root), units: units.control(), out: &bytes.Buffer{}, errOut: &bytes.Buffer{}}
	if err := r.remove(context.Background(), "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Remove("old:1", ro); err != nil {
		t.Errorf("image rm after rm: %v", err)
	}
}
