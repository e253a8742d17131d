package archive

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/internal/fixture"
	"github.com/dockah/dockah/tests/testenv"
	"golang.org/x/sys/unix"
)

// childEnv makes the test binary import DOCKAH_TEST_SOURCE into
// DOCKAH_TEST_STORE and exit, for the crash test to kill it midway.
const childEnv = "DOCKAH_TEST_IMPORT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		st, err := rootfs.Open(os.Getenv("DOCKAH_TEST_STORE"))
		if err == nil {
			_, err = Import(st, os.Getenv("DOCKAH_TEST_SOURCE"), ImportOptions{Jobs: 1})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestConcurrentImportsShareALayer(t *testing.T) {
	a, b := twoImages(fixture.Gzip)
	st := newStore(t)
	paths := []string{writeArchive(t, fixture.DockerArchive(a), true), writeArchive(t, fixture.DockerArchive(b), true)}
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = Import(st, paths[i%2], ImportOptions{})
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent Import: %v", err)
			}
		}
	}
	if got := len(storedLayers(t, st)); got != 3 {
		t.Errorf("%d layers stored, want 3", got)
	}
}

// TestKilledImportLeavesNoImage kills an import at several moments and
// checks that no half image is visible and that the next command removes
// the leftovers.
func TestKilledImportLeavesNoImage(t *testing.T) {
	var layers [][]byte
	for i := 0; i < 6; i++ {
		var entries []fixture.Entry
		for j := 0; j < 400; j++ {
			entries = append(entries, fixture.Entry{Name: fmt.Sprintf("l%d/f%d", i, j), Body: strings.Repeat("x", 20000)})
		}
		layers = append(layers, fixture.Tar(entries...))
	}
	img := fixture.NewImage([]string{"big:1"}, fixture.Gzip, layers...)
	src := writeArchive(t, fixture.DockerArchive(img), true)
	for _, delay := range []time.Duration{20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond} {
		st := newStore(t)
		cmd := exec.Command(os.Args[0], "-test.run", "^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", "DOCKAH_TEST_STORE="+st.Root(), "DOCKAH_TEST_SOURCE="+src)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
		list, err := st.List()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if len(s.Image.Layers) != len(layers) {
				t.Errorf("after a kill at %v: a half image is visible", delay)
			}
		}
		if _, err := st.Prune(); err != nil {
			t.Fatalf("Prune after a kill: %v", err)
		}
		if left := tempLeft(t, st); len(left) != 0 {
			t.Errorf("after a kill at %v and a prune, tmp holds %v", delay, left)
			out, _ := exec.Command("ls", "-laR", filepath.Join(st.Root(), "tmp")).CombinedOutput()
			t.Logf("%s", out)
		}
		mustImport(t, st, src, ImportOptions{})
		if _, err := st.Resolve("big:1"); err != nil {
			t.Errorf("import after a kill: %v", err)
		}
	}
}

// TestFullDisk imports into a store on a tiny tmpfs: the import fails
// with a clear error and what was stored stays usable.
func TestFullDisk(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=2m"); err != nil {
		testenv.Skip(t, "cannot mount a tmpfs: "+err.Error())
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	st, err := rootfs.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	small, _ := twoImages(nil)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(small), true), ImportOptions{})
	big := fixture.NewImage([]string{"big"}, fixture.Gzip, fixture.Tar(fixture.Entry{Name: "zeros", Body: string(make([]byte, 4<<20))}))
	_, err = Import(st, writeArchive(t, fixture.DockerArchive(big), true), ImportOptions{})
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("Import on a full disk = %v, want ENOSPC", err)
	}
	t.Logf("full disk: %v", err)
	if _, err := st.Resolve("big"); !errors.Is(err, rootfs.ErrNotFound) {
		t.Errorf("half image visible: %v", err)
	}
	if _, err := st.MountPlan("web", "c", rootfs.MountOptions{ReadOnly: true}); err != nil {
		t.Errorf("stored image unusable after a full disk: %v", err)
	}
	if left := tempLeft(t, st); len(left) != 0 {
		t.Errorf("tmp holds %v", left)
	}
}

func TestRemoveAndPrune(t *testing.T) {
	a, b := twoImages(nil)
	st := newStore(t)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(a, b), true), ImportOptions{})
	used := func(r rootfs.Removal) ([]string, error) {
		if r.ID == a.ID() && r.DeletesImage {
			return []string{"definition web.toml"}, nil
		}
		return nil, nil
	}
	// Removing one of two names keeps the image.
	rm, err := st.Remove("web:latest", rootfs.RemoveOptions{InUse: used})
	if err != nil || rm.DeletesImage {
		t.Fatalf("Remove(web:latest) = %+v, %v", rm, err)
	}
	if _, err := st.Remove("example.com/web:1.0", rootfs.RemoveOptions{InUse: used}); !errors.Is(err, rootfs.ErrInUse) {
		t.Fatalf("Remove of a used image = %v, want ErrInUse", err)
	}
	if _, err := st.Remove("example.com/web:1.0", rootfs.RemoveOptions{InUse: used, Force: true}); err != nil {
		t.Fatalf("Remove --force: %v", err)
	}
	if got := len(storedLayers(t, st)); got != 2 {
		t.Errorf("%d layers left, want 2 (base and app)", got)
	}
	if _, err := st.Resolve(a.ID()); !errors.Is(err, rootfs.ErrNotFound) {
		t.Errorf("removed image still resolves: %v", err)
	}
	if _, err := st.Remove(b.ID(), rootfs.RemoveOptions{}); err != nil {
		t.Fatalf("Remove by ID: %v", err)
	}
	if got := len(storedLayers(t, st)); got != 0 {
		t.Errorf("%d layers left, want 0", got)
	}
	links, _ := os.ReadDir(filepath.Join(st.Root(), "l"))
	if len(links) != 0 {
		t.Errorf("%d layer links left", len(links))
	}
}

func TestPruneKeepsUsedLayers(t *testing.T) {
	a, _ := twoImages(nil)
	st := newStore(t)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(a), true), ImportOptions{})
	// An orphan layer: stored, named by no image (an import killed
	// between the layer and the image).
	orphan := fixture.NewImage(nil, nil, fixture.Tar(fixture.App()...))
	files := fixture.DockerArchive(orphan)
	delete(files, orphan.ID()[7:]+".json")
	_, err := Import(st, writeArchive(t, files, true), ImportOptions{})
	if err == nil {
		t.Fatal("import without config succeeded")
	}
	rep, err := st.Prune()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Layers) != 0 {
		t.Errorf("pruned %v; every stored layer is used", rep.Layers)
	}
	if _, err := st.MountPlan("web", "c", rootfs.MountOptions{}); err != nil {
		t.Errorf("MountPlan after prune: %v", err)
	}
}
