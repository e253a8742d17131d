package archive

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/internal/fixture"
	"github.com/dockah/dockah/tests/testenv"
	"golang.org/x/sys/unix"
)

// mountPlan mounts plan's overlayfs at a temp dir, as the shim would, and
// unmounts it when the test ends.
func mountPlan(t *testing.T, plan *rootfs.Plan) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("overlay", dir, "overlay", 0, plan.Data()); err != nil {
		testenv.Skip(t, "cannot mount overlayfs: "+err.Error())
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// TestOverlayMountsImage checks the stored form against the kernel:
// overlayfs applies the layers' whiteouts and opaque directories, and a
// commit of what the container changed gives the same view again.
func TestOverlayMountsImage(t *testing.T) {
	testenv.RequireRoot(t)
	a, _ := twoImages(fixture.Gzip)
	st := newStore(t)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(a), true), ImportOptions{})
	plan, err := st.MountPlan("web", "box", rootfs.MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root := mountPlan(t, plan)
	if got := listDir(t, filepath.Join(root, "etc/old")); len(got) != 1 || got[0] != "b" {
		t.Errorf("etc/old holds %v, want [b] (opaque)", got)
	}
	if _, err := os.Lstat(filepath.Join(root, "etc/gone")); !os.IsNotExist(err) {
		t.Errorf("etc/gone: %v, want deleted by the whiteout", err)
	}
	if data, _ := os.ReadFile(filepath.Join(root, "usr/lib/libc.so")); string(data) != "libc" {
		t.Errorf("usr/lib/libc.so = %q", data)
	}
	// The container changes its root.
	must(t, os.WriteFile(filepath.Join(root, "etc/new"), []byte("new"), 0o644))
	must(t, os.Remove(filepath.Join(root, "bin/su")))
	must(t, os.RemoveAll(filepath.Join(root, "usr/lib")))
	must(t, os.Mkdir(filepath.Join(root, "usr/lib"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "usr/lib/only"), nil, 0o644))
	must(t, unix.Unmount(root, 0))

	if _, err := Commit(st, "box", "web:next", CommitOptions{}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	plan, err = st.MountPlan("web:next", "check", rootfs.MountOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	root = mountPlan(t, plan)
	if data, _ := os.ReadFile(filepath.Join(root, "etc/new")); string(data) != "new" {
		t.Errorf("etc/new = %q after commit", data)
	}
	if _, err := os.Lstat(filepath.Join(root, "bin/su")); !os.IsNotExist(err) {
		t.Errorf("bin/su: %v, want deleted after commit", err)
	}
	if got := listDir(t, filepath.Join(root, "usr/lib")); len(got) != 1 || got[0] != "only" {
		t.Errorf("usr/lib holds %v after commit, want [only]", got)
	}
}

// TestOverlayMountsSmallImages mounts images of zero and one layer
// read-only and writable: overlayfs wants two lower dirs without an upper.
func TestOverlayMountsSmallImages(t *testing.T) {
	testenv.RequireRoot(t)
	st := newStore(t)
	one := fixture.NewImage([]string{"one"}, nil, fixture.Tar(fixture.App()...))
	none := fixture.NewImage([]string{"none"}, nil)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(one, none), true), ImportOptions{})
	for _, ref := range []string{"one", "none"} {
		for _, ro := range []bool{true, false} {
			plan, err := st.MountPlan(ref, "small", rootfs.MountOptions{ReadOnly: ro, Ephemeral: true})
			if err != nil {
				t.Fatal(err)
			}
			root := mountPlan(t, plan)
			if _, err := os.Stat(filepath.Join(root, "app/server")); (err == nil) != (ref == "one") {
				t.Errorf("%s (read-only %v): app/server: %v", ref, ro, err)
			}
			must(t, unix.Unmount(root, 0))
		}
	}
}
