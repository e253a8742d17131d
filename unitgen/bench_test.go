package unitgen

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// benchDefinitions makes n definitions as an administrator writes them,
// half in /etc and half in /usr/lib, each with a drop-in in /etc.
func benchDefinitions(n int) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := range n {
		dir := "etc/dockah/containers"
		if i%2 == 1 {
			dir = "usr/lib/dockah/containers"
		}
		name := fmt.Sprintf("app%04d", i)
		fsys[dir+"/"+name+".toml"] = &fstest.MapFile{Data: fmt.Appendf(nil, `# %[1]s: a web application
[container]
image = "registry.example.com/team/%[1]s:1.%[2]d"
command = ["serve", "--port", "80"]
environment = { TZ = "UTC", APP = "%[1]s" }

[[socket]]
listen = "127.0.0.1:%[3]d"
port = 80

[[volume]]
source = "/srv/%[1]s"
target = "/data"
read_only = true

[resources]
memory_max = "512M"
cpu_quota = "50%%"

[service]
restart = "on-failure"
after = ["db"]
wanted_by = ["multi-user.target"]
`, name, i, 20000+i)}
		fsys["etc/dockah/containers/"+name+".toml.d/10-local.toml"] = &fstest.MapFile{Data: []byte(`[resources]
memory_max = "1G"

[container]
environment = { LOG_LEVEL = "debug" }
`)}
	}
	return fsys
}

// indexedFS is a MapFS whose directories are listed in advance: MapFS
// lists a directory by going through every file, which would make the
// benchmark measure MapFS.
type indexedFS struct {
	fstest.MapFS
	dirs map[string][]fs.DirEntry
}

func newIndexedFS(m fstest.MapFS) indexedFS {
	ix := indexedFS{MapFS: m, dirs: map[string][]fs.DirEntry{}}
	seen := map[string]bool{}
	for name := range m {
		for p := name; p != "."; p = path.Dir(p) {
			if seen[p] {
				break
			}
			seen[p] = true
			info, err := fs.Stat(m, p)
			if err != nil {
				panic(err)
			}
			parent := path.Dir(p)
			ix.dirs[parent] = append(ix.dirs[parent], fs.FileInfoToDirEntry(info))
		}
	}
	for _, entries := range ix.dirs {
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	}
	return ix
}

func (ix indexedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if entries, ok := ix.dirs[name]; ok {
		return entries, nil
	}
	return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
}

// reportCPU reports the CPU time per run of the process, all threads:
// wall time on this shared machine depends on who else runs.
func reportCPU(b *testing.B, run func()) {
	b.Helper()
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	n := 0
	for b.Loop() {
		run()
		n++
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
}

// BenchmarkGenerate is the generator's work for 1,000 definitions with a
// drop-in each: list, read, parse, merge, check and render (files in
// memory). The target is well under 50 ms per run.
func BenchmarkGenerate(b *testing.B) {
	fsys := newIndexedFS(benchDefinitions(1000))
	opts := Options{ShimPath: goldenShim}
	b.ReportAllocs()
	reportCPU(b, func() {
		out, err := Generate(fsys, opts)
		if err != nil || len(out.Units) != 2000 {
			b.Fatalf("Generate: %d units, %v", len(out.Units), err)
		}
	})
}

// BenchmarkGenerateDisk is BenchmarkGenerate reading real files.
func BenchmarkGenerateDisk(b *testing.B) {
	root := b.TempDir()
	for name, f := range benchDefinitions(1000) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	fsys := os.DirFS(root)
	opts := Options{ShimPath: goldenShim}
	b.ReportAllocs()
	reportCPU(b, func() {
		if _, err := Generate(fsys, opts); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkLoadUnit is the shim's load of one definition among 1,000.
func BenchmarkLoadUnit(b *testing.B) {
	fsys := fs.FS(newIndexedFS(benchDefinitions(1000)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadUnit(fsys, "app0500"); err != nil {
			b.Fatal(err)
		}
	}
}
