package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dockah/dockah/rootfs/merged"
	"github.com/dockah/dockah/tests/testenv"
)

// TestMain also serves as the rpm reader that IsolatedRPM runs: the test
// binary with -rpm-reader PATH.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "-rpm-reader" {
		if err := ServeRPM(os.Args[2], os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testRPM reads rpm databases in a child: this test binary.
func testRPM(t testing.TB) RPMReader {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return IsolatedRPM(exe, "-rpm-reader")
}

// layerFiles are the contents of a layer: a path's data, or a symlink
// when the key is given in links.
type layerFiles struct {
	files map[string]string
	modes map[string]os.FileMode
	links map[string]string
}

// makeLayers writes layers (bottom first) into directories and returns
// them topmost first, as merged.Open wants them.
func makeLayers(t testing.TB, layers ...layerFiles) []string {
	t.Helper()
	var dirs []string
	for _, l := range layers {
		dir := t.TempDir()
		for p, data := range l.files {
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			mode := l.modes[p]
			if mode == 0 {
				mode = 0o644
			}
			if err := os.WriteFile(full, []byte(data), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(full, mode); err != nil {
				t.Fatal(err)
			}
		}
		for p, target := range l.links {
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append([]string{dir}, dirs...)
	}
	return dirs
}

// scanLayers scans layers (bottom first), named L0, L1... by diff ID.
func scanLayers(t testing.TB, opts Options, layers ...layerFiles) *Inventory {
	t.Helper()
	dirs := makeLayers(t, layers...)
	v, err := merged.Open(dirs)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var ids []string
	for i := len(layers) - 1; i >= 0; i-- {
		ids = append(ids, "L"+itoa(i))
	}
	inv, err := Scan(v, ids, opts)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// buildHello builds contrib/hello, a Go binary without cgo, and returns
// its path.
func buildHello(t testing.TB) string {
	t.Helper()
	testenv.RequireCommand(t, "go")
	bin := filepath.Join(t.TempDir(), "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../contrib/hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build contrib/hello: %v\n%s", err, out)
	}
	return bin
}

// fakeELF is a file that starts as an ELF file does, holding text.
func fakeELF(text string) string {
	pad := make([]byte, 200)
	return "\x7fELF" + string(pad) + text + string(pad)
}

// hostFile reads a file of this machine, or skips.
func hostFile(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		testenv.Skip(t, "needs "+p+": "+err.Error())
	}
	return string(data)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
