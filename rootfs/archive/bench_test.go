package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/internal/fixture"
	"golang.org/x/sys/unix"
)

// benchLayers makes n layer tars of roughly mb MiB each, shaped like a
// distribution image: many small files in nested directories, a few big
// ones, symlinks; half the content compressible text, half random.
func benchLayers(n, mb int) [][]byte {
	r := rand.New(rand.NewSource(42))
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 1<<16)
	var layers [][]byte
	for l := 0; l < n; l++ {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for i := 0; buf.Len() < mb<<20; i++ {
			dir := fmt.Sprintf("usr/share/l%d/d%d/", l, i/50)
			if i%50 == 0 {
				tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: fixture.Epoch})
			}
			size := 512 + r.Intn(24<<10)
			if i%400 == 0 {
				size = 4 << 20
			}
			body := make([]byte, size)
			if i%2 == 0 {
				r.Read(body)
			} else {
				copy(body, text)
			}
			tw.WriteHeader(&tar.Header{Name: dir + "f" + strconv.Itoa(i), Mode: 0o644, Size: int64(size), ModTime: fixture.Epoch})
			tw.Write(body)
			if i%20 == 0 {
				tw.WriteHeader(&tar.Header{Name: dir + "s" + strconv.Itoa(i), Typeflag: tar.TypeSymlink, Linkname: "f" + strconv.Itoa(i), ModTime: fixture.Epoch})
			}
		}
		tw.Close()
		layers = append(layers, buf.Bytes())
	}
	return layers
}

// BenchmarkImportVsTar imports a 4-layer image of ~400 MiB and extracts
// the same layers with GNU tar -x in the same run, and reports the ratio.
// Both are timed up to durable data: the import syncs each layer before
// it becomes visible, so tar's time includes a sync of its output. On
// "disk" both write to the test's temp dir (ext4 here), on "tmpfs" (root
// only) to a tmpfs, which leaves out the disk and other processes' dirty
// data that a sync flushes too.
func BenchmarkImportVsTar(b *testing.B) {
	if _, err := exec.LookPath("tar"); err != nil {
		b.Skip("needs GNU tar")
	}
	for _, tc := range []struct {
		name     string
		compress func([]byte) []byte
		tarFlag  string
	}{
		{"uncompressed", nil, "-xf"},
		{"gzip", fixture.Gzip, "-xzf"},
	} {
		layers := benchLayers(4, 100)
		img := fixture.NewImage([]string{"bench:1"}, tc.compress, layers...)
		src := b.TempDir()
		os.WriteFile(filepath.Join(src, "image.tar"), fixture.TarOf(fixture.DockerArchive(img)), 0o644)
		for i, blob := range img.Blobs {
			os.WriteFile(filepath.Join(src, fmt.Sprintf("layer%d", i)), blob, 0o644)
		}
		for _, where := range []string{"disk", "tmpfs"} {
			b.Run(tc.name+"/"+where, func(b *testing.B) {
				work := b.TempDir()
				if where == "tmpfs" {
					if os.Geteuid() != 0 {
						b.Skip("needs root to mount a tmpfs")
					}
					if err := unix.Mount("tmpfs", work, "tmpfs", 0, "size=8g"); err != nil {
						b.Skip("cannot mount a tmpfs: " + err.Error())
					}
					b.Cleanup(func() { unix.Unmount(work, unix.MNT_DETACH) })
				}
				importVsTar(b, src, work, len(img.Blobs), tc.tarFlag)
			})
		}
	}
}

func importVsTar(b *testing.B, src, work string, layers int, tarFlag string) {
	var dockah, gnu time.Duration
	for i := 0; i < b.N; i++ {
		st, _ := rootfs.Open(filepath.Join(work, fmt.Sprintf("store%d", i)))
		unix.Sync()
		start := time.Now()
		if _, err := Import(st, filepath.Join(src, "image.tar"), ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		dockah += time.Since(start)

		unix.Sync()
		start = time.Now()
		for j := 0; j < layers; j++ {
			dir := filepath.Join(work, fmt.Sprintf("tar%d-%d", i, j))
			os.Mkdir(dir, 0o755)
			if out, err := exec.Command("tar", "-C", dir, tarFlag, filepath.Join(src, fmt.Sprintf("layer%d", j))).CombinedOutput(); err != nil {
				b.Fatalf("tar: %v\n%s", err, out)
			}
		}
		unix.Sync()
		gnu += time.Since(start)
	}
	b.ReportMetric(dockah.Seconds()/float64(b.N), "dockah-s/op")
	b.ReportMetric(gnu.Seconds()/float64(b.N), "tar-s/op")
	b.ReportMetric(float64(dockah)/float64(gnu), "ratio")
}

// BenchmarkSharedBase imports N images that share one base layer and
// reports the store's disk use next to N copies of one image.
func BenchmarkSharedBase(b *testing.B) {
	const n = 10
	base := benchLayers(1, 50)[0]
	for i := 0; i < b.N; i++ {
		st, _ := rootfs.Open(filepath.Join(b.TempDir(), "store"))
		for k := 0; k < n; k++ {
			app := fixture.Tar(fixture.Entry{Name: "app/id", Body: strconv.Itoa(k)})
			img := fixture.NewImage([]string{fmt.Sprintf("app%d:1", k)}, nil, base, app)
			p := filepath.Join(b.TempDir(), "img.tar")
			os.WriteFile(p, fixture.TarOf(fixture.DockerArchive(img)), 0o644)
			if _, err := Import(st, p, ImportOptions{}); err != nil {
				b.Fatal(err)
			}
			if k == 0 {
				b.ReportMetric(float64(diskUse(st.Root()))/(1<<20), "one-image-MiB")
			}
		}
		b.ReportMetric(float64(diskUse(st.Root()))/(1<<20), fmt.Sprintf("%d-images-MiB", n))
	}
}

// diskUse sums the blocks allocated below dir, hardlinks counted once.
func diskUse(dir string) int64 {
	seen := map[uint64]bool{}
	var total int64
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		st := info.Sys().(*syscall.Stat_t)
		if !seen[st.Ino] {
			seen[st.Ino] = true
			total += st.Blocks * 512
		}
		return nil
	})
	return total
}
