package inventory

import (
	"archive/tar"
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/testenv"
)

// The tests run the dockah command as an administrator would, on a store
// of their own: built once from this checkout.
var cli struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// projectDir is the checkout, two levels up from this package.
const projectDir = "../.."

// dockahPath builds cmd/dockah into the package's temp directory.
func dockahPath(t testing.TB) string {
	t.Helper()
	testenv.RequireCommand(t, "go")
	cli.once.Do(func() {
		dir, err := os.MkdirTemp("", "dockah-inventory-cli-")
		if err != nil {
			cli.err = err
			return
		}
		cli.path = filepath.Join(dir, "dockah")
		cmd := exec.Command("go", "build", "-o", cli.path, "./cmd/dockah")
		cmd.Dir = projectDir
		cli.out, cli.err = cmd.CombinedOutput()
	})
	if cli.err != nil {
		t.Fatalf("build dockah: %v\n%s", cli.err, cli.out)
	}
	return cli.path
}

// dockah runs the command with --root store and returns its stdout,
// stderr and exit status.
func dockah(t testing.TB, store string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockahPath(t), append([]string{"--root", store}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	status := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("dockah %v: %v", args, err)
		}
		status = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), status
}

// entry is a file of a test image: data, or a symlink when link is set.
type entry struct {
	data string
	mode int64
	link string
}

// writeRootfs writes a root filesystem tar of entries (by path) to a
// temp file and returns its path.
func writeRootfs(t testing.TB, entries map[string]entry) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedKeys(entries) {
		e := entries[name]
		hdr := &tar.Header{Name: name, Mode: e.mode, Size: int64(len(e.data)), Typeflag: tar.TypeReg}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if e.link != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Size, hdr.Mode = tar.TypeSymlink, e.link, 0, 0o777
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.data))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// importRootfs imports a root filesystem tar into store as name.
func importRootfs(t testing.TB, store, tarPath, name string) {
	t.Helper()
	if _, stderr, status := dockah(t, store, "-q", "image", "import", tarPath, "--name", name); status != 0 {
		t.Fatalf("import %s: exit status %d\n%s", name, status, stderr)
	}
}

// hostData reads a file of this machine, or skips.
func hostData(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		testenv.Skip(t, "needs "+p+" (Debian package zlib1g): "+err.Error())
	}
	return string(data)
}

// hostLibz is this machine's zlib: Debian 12's 1.2.13.
const hostLibz = "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"

// serviceImage builds (or finds in its cache) the Debian image of a
// service of contrib/images and returns its root filesystem tar.
func serviceImage(t testing.TB, svc string) string {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "mmdebstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(projectDir, "contrib/images/build"), "--no-import", svc)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("contrib/images/build --no-import %s: %v (it builds from Debian's packages: the Debian mirror must be reachable)\n%s", svc, err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// staticZlibBinary builds a C program linked statically against this
// machine's libz.a (gcc -static ... -lz) and returns it.
func staticZlibBinary(t testing.TB) string {
	t.Helper()
	testenv.RequireCommand(t, "gcc")
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libz.a"); err != nil {
		testenv.Skip(t, "needs libz.a (Debian package zlib1g-dev)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "gz.c")
	prog := `#include <zlib.h>
#include <stdio.h>
int main(void) {
	unsigned char in[] = "hello, hello, hello", out[128], back[128];
	uLongf n = sizeof out, m = sizeof back;
	if (compress(out, &n, in, sizeof in) != Z_OK || uncompress(back, &m, out, n) != Z_OK) return 1;
	printf("%s %s\n", zlibVersion(), back);
	return 0;
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "gz")
	if out, err := exec.Command("gcc", "-static", "-O2", "-o", bin, src, "-lz").CombinedOutput(); err != nil {
		t.Fatalf("gcc -static ... -lz: %v\n%s", err, out)
	}
	return bin
}

// goBinary builds contrib/hello without cgo.
func goBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./contrib/hello")
	cmd.Dir = projectDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build contrib/hello: %v\n%s", err, out)
	}
	return bin
}
