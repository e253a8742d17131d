package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// volumeEntries lists ROOT/volumes, to see leftovers.
func volumeEntries(t *testing.T, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(s.VolumeDir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestCreateVolumeOnce: the first call creates and fills the volume, mode
// 0755 whatever the umask; later calls, even on an empty volume, neither
// fill nor change it.
func TestCreateVolumeOnce(t *testing.T) {
	old := syscall.Umask(0o077) // the generated unit's
	defer syscall.Umask(old)
	s := openTestStore(t)
	fills := 0
	fill := func(dir string) error {
		fills++
		return os.WriteFile(filepath.Join(dir, "seed"), []byte("from the image"), 0o640)
	}
	created, err := s.CreateVolume("data", fill)
	if err != nil || !created {
		t.Fatalf("CreateVolume: %v, %v", created, err)
	}
	data := filepath.Join(s.VolumeDir(), "data", "_data")
	fi, err := os.Stat(data)
	if err != nil || fi.Mode() != os.ModeDir|0o755 {
		t.Fatalf("volume directory: %v, %v; want a 0755 directory", fi, err)
	}
	if err := os.WriteFile(filepath.Join(data, "seed"), []byte("changed by the container"), 0o640); err != nil {
		t.Fatal(err)
	}
	created, err = s.CreateVolume("data", fill)
	if err != nil || created || fills != 1 {
		t.Fatalf("second CreateVolume: created %v, %v, %d fills; want nothing done", created, err, fills)
	}
	if got, _ := os.ReadFile(filepath.Join(data, "seed")); string(got) != "changed by the container" {
		t.Errorf("the second call changed the volume: %q", got)
	}

	// Emptied by its user, a volume still exists.
	if err := os.Remove(filepath.Join(data, "seed")); err != nil {
		t.Fatal(err)
	}
	if created, err := s.CreateVolume("data", fill); err != nil || created || fills != 1 {
		t.Errorf("CreateVolume of an empty volume: created %v, %v, %d fills", created, err, fills)
	}

	// Without a fill: empty.
	if created, err := s.CreateVolume("empty", nil); err != nil || !created {
		t.Fatalf("CreateVolume without a fill: %v, %v", created, err)
	}
	if entries, err := os.ReadDir(filepath.Join(s.VolumeDir(), "empty", "_data")); err != nil || len(entries) != 0 {
		t.Errorf("volume without a fill: %v, %v", entries, err)
	}
	if got := volumeEntries(t, s); len(got) != 2 {
		t.Errorf("ROOT/volumes holds %q, want the two volumes only", got)
	}
}

// TestCreateVolumeFailedFill: a fill that fails leaves no volume and no
// temp directory, and the next call fills again.
func TestCreateVolumeFailedFill(t *testing.T) {
	s := openTestStore(t)
	boom := errors.New("disk full")
	_, err := s.CreateVolume("data", func(dir string) error {
		os.WriteFile(filepath.Join(dir, "half"), []byte("half"), 0o644)
		os.Mkdir(filepath.Join(dir, "ro"), 0o500)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("CreateVolume: %v, want %v", err, boom)
	}
	if got := volumeEntries(t, s); len(got) != 1 || got[0] != "data" {
		t.Errorf("after a failed fill ROOT/volumes holds %q, want data/ without _data", got)
	}
	created, err := s.CreateVolume("data", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "whole"), nil, 0o644)
	})
	if err != nil || !created {
		t.Fatalf("CreateVolume after a failed fill: %v, %v", created, err)
	}
	if _, err := os.Stat(filepath.Join(s.VolumeDir(), "data", "_data", "whole")); err != nil {
		t.Error(err)
	}
}

// TestCreateVolumeLeftovers: the temp directory of a killed start (no
// lock) is removed by the next creation; one being filled (locked) stays.
func TestCreateVolumeLeftovers(t *testing.T) {
	s := openTestStore(t)
	killed := filepath.Join(s.VolumeDir(), ".tmp-data-killed")
	if err := os.MkdirAll(filepath.Join(killed, "half"), 0o755); err != nil {
		t.Fatal(err)
	}
	busy, lock, err := mkdirLocked(s.VolumeDir(), ".tmp-other-")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := s.CreateVolume("data", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(killed); !os.IsNotExist(err) {
		t.Errorf("the killed start's temp directory is still there: %v", err)
	}
	if _, err := os.Stat(busy); err != nil {
		t.Errorf("a temp directory in use was removed: %v", err)
	}
}

// TestCreateVolumeRace: of starts creating one volume at once, exactly
// one creates it, with one fill's content whole; no temp is left.
func TestCreateVolumeRace(t *testing.T) {
	s := openTestStore(t)
	const n = 8
	var wg sync.WaitGroup
	results := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.CreateVolume("shared", func(dir string) error {
				for j := range 20 {
					if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(j)), []byte(strconv.Itoa(i)), 0o644); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("start %d: %v", i, errs[i])
		}
		if results[i] {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d starts created the volume, want 1", created)
	}
	data := filepath.Join(s.VolumeDir(), "shared", "_data")
	first, _ := os.ReadFile(filepath.Join(data, "0"))
	for j := range 20 {
		if got, _ := os.ReadFile(filepath.Join(data, strconv.Itoa(j))); string(got) != string(first) {
			t.Errorf("file %d from fill %q, file 0 from fill %q: fills mixed", j, got, first)
		}
	}
	if got := volumeEntries(t, s); len(got) != 1 {
		t.Errorf("ROOT/volumes holds %q, want the volume only", got)
	}
}

// TestCreateExistingVolumeIsOneLstat: once the volume exists a start
// neither fills nor takes the store lock: it does not wait for a removal
// that holds the lock exclusively.
func TestCreateExistingVolumeIsOneLstat(t *testing.T) {
	s := openTestStore(t)
	if _, err := s.CreateVolume("data", nil); err != nil {
		t.Fatal(err)
	}
	lk, err := s.LockExclusive()
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release()
	done := make(chan error, 1)
	go func() {
		_, err := s.CreateVolume("data", func(string) error { return errors.New("filled again") })
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CreateVolume of an existing volume waits for the store lock")
	}
}

func TestCreateVolumeRefusesBadNames(t *testing.T) {
	s := openTestStore(t)
	for _, name := range []string{"", ".tmp-data-x", "..", "a/b", "-x", "a b", string(make([]byte, 256))} {
		if _, err := s.CreateVolume(name, nil); err == nil {
			t.Errorf("CreateVolume(%q) succeeded", name)
		}
	}
	if entries, _ := os.ReadDir(s.VolumeDir()); len(entries) != 0 {
		t.Errorf("bad names made %v", entries)
	}
}

// BenchmarkCreateExistingVolume is what every start but a volume's first
// pays for it.
func BenchmarkCreateExistingVolume(b *testing.B) {
	s := openTestStore(b)
	if _, err := s.CreateVolume("data", nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if created, err := s.CreateVolume("data", nil); err != nil || created {
			b.Fatal(created, err)
		}
	}
}
