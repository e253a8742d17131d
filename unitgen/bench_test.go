package unitgen

import (
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dockah/dockah/internal/deftest"
	"github.com/dockah/dockah/internal/imageconfig"
)

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
// drop-in each (deftest.Apps): list, read, parse, merge, check and render (files in
// memory). The target is well under 50 ms per run.
func BenchmarkGenerate(b *testing.B) {
	fsys := newIndexedFS(deftest.Apps(1000))
	opts := Options{ShimPath: goldenShim}
	b.ReportAllocs()
	reportCPU(b, func() {
		out, err := Generate(fsys, opts)
		// Per application: its service, its socket and the drop-in of
		// its image's pull unit.
		if err != nil || len(out.Units) != 3000 {
			b.Fatalf("Generate: %d units, %v", len(out.Units), err)
		}
	})
}

// BenchmarkGenerateDisk is BenchmarkGenerate reading real files.
func BenchmarkGenerateDisk(b *testing.B) {
	root := b.TempDir()
	if err := deftest.Write(root, deftest.Apps(1000)); err != nil {
		b.Fatal(err)
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
	fsys := fs.FS(newIndexedFS(deftest.Apps(1000)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadUnit(fsys, "app0500"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadUnitDisk is the shim's load of one definition and its
// drop-in from a directory on disk, as it reads them at a start without
// a start plan.
func BenchmarkLoadUnitDisk(b *testing.B) {
	root := b.TempDir()
	files := map[string]string{
		"etc/dockah/containers/web.toml":            "[container]\nimage = \"nginx:1.25\"\nread_only = true\n\n[[socket]]\nlisten = \"127.0.0.1:8080\"\nport = 80\n\n[[volume]]\nsource = \"/srv/www\"\ntarget = \"/usr/share/nginx/html\"\nread_only = true\n",
		"etc/dockah/containers/web.toml.d/env.toml": "[container]\nenvironment = { A = \"1\" }\n",
	}
	for name, text := range files {
		p := root + "/" + name
		if err := os.MkdirAll(path.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	fsys := os.DirFS(root)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadUnit(fsys, "web"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpec is the runtime spec of a definition and its image's
// config, at every start without a start plan.
func BenchmarkSpec(b *testing.B) {
	def, err := Parse("web", File{Path: "/etc/dockah/containers/web.toml", Data: []byte("[container]\nimage = \"nginx:1.25\"\nread_only = true\nenvironment = { A = \"1\" }\n\n[[volume]]\nsource = \"data\"\ntarget = \"/data\"\n")})
	if err != nil {
		b.Fatal(err)
	}
	image := imageconfig.Config{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.25.3"}, StopSignal: "SIGQUIT"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Spec(def, SpecInput{Image: image, VolumeDir: "/var/lib/dockah/volumes"}); err != nil {
			b.Fatal(err)
		}
	}
}
