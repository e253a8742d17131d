package inventory

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dockah/dockah/inventory"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/tests/testenv"
)

// benchDir holds the benchmarks' stores; TestMain removes it.
var benchDir string

func TestMain(m *testing.M) {
	status := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	if cli.path != "" {
		os.RemoveAll(filepath.Dir(cli.path))
	}
	os.Exit(status)
}

var bench struct {
	once sync.Once
	// big is a Debian image of 200 MiB: contrib/images' postgres (136
	// MiB) and a layer of this machine's shared libraries on top.
	big      *rootfs.Image
	bigStore *rootfs.Store
	bigBytes int64
	// fifty is a store of 50 images: the postgres image and 49 images
	// of it with a small layer of their own each.
	fifty *rootfs.Store
	err   error
}

// benchStores makes the benchmarks' stores once per test binary.
func benchStores(b *testing.B) {
	b.Helper()
	testenv.RequireRoot(b)
	tarPath := serviceImage(b, "postgres")
	bench.once.Do(func() { bench.err = makeBenchStores(b, tarPath) })
	if bench.err != nil {
		b.Fatal(bench.err)
	}
}

func makeBenchStores(b *testing.B, postgres string) error {
	dir, err := os.MkdirTemp("", "dockah-inventory-bench-")
	if err != nil {
		return err
	}
	benchDir = dir
	st, err := rootfs.Open(filepath.Join(dir, "big"))
	if err != nil {
		return err
	}
	base, err := importTar(st, postgres, "bench/postgres")
	if err != nil {
		return err
	}
	baseInfo, err := st.LayerInfo(base.Layers[0].DiffID)
	if err != nil {
		return err
	}
	extra, err := importTar(st, hostLibraries(b, filepath.Join(dir, "libs.tar"), 200<<20-baseInfo.Size), "bench/libs")
	if err != nil {
		return err
	}
	if bench.big, err = stack(st, base, extra, "bench/debian:200"); err != nil {
		return err
	}
	bench.bigStore = st
	for _, l := range bench.big.Layers {
		info, _ := st.LayerInfo(l.DiffID)
		bench.bigBytes += info.Size
	}
	b.Logf("the image: %d layers, %.0f MiB", len(bench.big.Layers), float64(bench.bigBytes)/(1<<20))

	if bench.fifty, err = rootfs.Open(filepath.Join(dir, "fifty")); err != nil {
		return err
	}
	base, err = importTar(bench.fifty, postgres, "bench/postgres")
	if err != nil {
		return err
	}
	for i := 1; i < 50; i++ {
		small := writeRootfs(b, map[string]entry{fmt.Sprintf("etc/bench-%d", i): {data: fmt.Sprint(i)}})
		name := fmt.Sprintf("bench/small:%d", i)
		top, err := importTar(bench.fifty, small, name)
		if err != nil {
			return err
		}
		if _, err := stack(bench.fifty, base, top, fmt.Sprintf("bench/app:%d", i)); err != nil {
			return err
		}
		if _, err := bench.fifty.Remove(name, rootfs.RemoveOptions{}); err != nil {
			return err
		}
	}
	return nil
}

func importTar(st *rootfs.Store, tarPath, name string) (*rootfs.Image, error) {
	imgs, err := archive.Import(st, tarPath, archive.ImportOptions{Name: name})
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

// stack records an image of base's layers with top's above them.
func stack(st *rootfs.Store, base, top *rootfs.Image, name string) (*rootfs.Image, error) {
	var cfg, topCfg v1.Image
	if err := json.Unmarshal(base.RawConfig, &cfg); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(top.RawConfig, &topCfg); err != nil {
		return nil, err
	}
	cfg.RootFS.DiffIDs = append(append([]digest.Digest{}, cfg.RootFS.DiffIDs...), topCfg.RootFS.DiffIDs...)
	cfg.History = append(append([]v1.History{}, cfg.History...), topCfg.History...)
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	ref, err := rootfs.ParseLocalReference(name)
	if err != nil {
		return nil, err
	}
	lk, err := st.LockShared()
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	return st.AddImage(raw, []rootfs.Reference{ref})
}

// hostLibraries writes a root filesystem tar of this machine's shared
// libraries, about size bytes of them, and returns it.
func hostLibraries(b *testing.B, p string, size int64) string {
	b.Helper()
	entries := map[string]entry{}
	var total int64
	libs, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/*.so*")
	for _, lib := range libs {
		fi, err := os.Lstat(lib)
		if err != nil || !fi.Mode().IsRegular() || total+fi.Size() > size {
			continue
		}
		data, err := os.ReadFile(lib)
		if err != nil {
			continue
		}
		entries["opt/vendor/lib/"+filepath.Base(lib)] = entry{data: string(data), mode: 0o755}
		total += fi.Size()
	}
	data, err := os.ReadFile(writeRootfs(b, entries))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkInventoryCold: the inventory of a ~200 MiB Debian image with
// nothing cached (the page cache is warm: the layers' files were read
// before).
func BenchmarkInventoryCold(b *testing.B) {
	benchStores(b)
	chain := chainOf(bench.big)
	entry := filepath.Join(bench.bigStore.Root(), inventory.CacheDir, strings.TrimPrefix(chain, "sha256:")+".json")
	b.SetBytes(bench.bigBytes)
	b.ResetTimer()
	for b.Loop() {
		os.Remove(entry)
		inv, cached, err := inventory.Of(bench.bigStore, bench.big, inventory.Options{})
		if err != nil || cached || len(inv.Packages) < 100 {
			b.Fatalf("inventory: cached %v, %v", cached, err)
		}
	}
}

// BenchmarkInventoryCached: the same inventory, read back from the
// store's cache.
func BenchmarkInventoryCached(b *testing.B) {
	benchStores(b)
	if _, _, err := inventory.Of(bench.bigStore, bench.big, inventory.Options{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, cached, err := inventory.Of(bench.bigStore, bench.big, inventory.Options{}); err != nil || !cached {
			b.Fatalf("inventory: cached %v, %v", cached, err)
		}
	}
}

// BenchmarkWhich50: `dockah image which zlib` over 50 images whose
// inventories are cached, as a command: the process's start included.
func BenchmarkWhich50(b *testing.B) {
	benchStores(b)
	root := bench.fifty.Root()
	if out, stderr, status := dockah(b, root, "image", "which", "zlib"); status != 0 || strings.Count(out, "zlib1g") != 50 {
		b.Fatalf("which: exit status %d\n%s\n%s", status, out, stderr)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, status := dockah(b, root, "-q", "image", "which", "zlib"); status != 0 {
			b.Fatalf("which: exit status %d", status)
		}
	}
}

func chainOf(img *rootfs.Image) string {
	var ids []string
	for _, l := range img.Layers {
		ids = append(ids, l.DiffID)
	}
	return inventory.ChainID(ids)
}
