//go:build !lean

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/tests/testenv"
	"golang.org/x/sys/unix"
)

// savedArchive is what archive.Save writes for ref: save is byte for byte
// deterministic, so every destination must get exactly this.
func savedArchive(t *testing.T, root, ref string) []byte {
	t.Helper()
	st, err := rootfs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := archive.Save(st, []string{ref}, &buf, archive.FormatOCI); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImageSaveDestinations checks that each kind of -o gets the whole
// archive: stdout for no -o, "-" and /dev/stdout; a regular file through
// a temp file renamed into place; a FIFO, a pipe and a file named by an
// open descriptor written in place (the last appended to, as the
// descriptor would be), with no temp file left beside any of them.
func TestImageSaveDestinations(t *testing.T) {
	root, _ := newTestStore(t)
	want := savedArchive(t, root, "web:1")
	tests := []struct {
		name string
		// target prepares the destination in dir and returns the -o
		// value (nil: no -o), and what should be there afterwards
		// once read back.
		target func(t *testing.T, dir string, stdout *bytes.Buffer) ([]string, func() []byte)
		prefix string // what the destination held and must still hold
		// file is a file of dir the target made, and inPlace whether
		// it must still be the same file afterwards, not a new one
		// renamed over it.
		file    string
		inPlace bool
	}{
		{name: "no -o", target: func(_ *testing.T, _ string, stdout *bytes.Buffer) ([]string, func() []byte) {
			return nil, stdout.Bytes
		}},
		{name: "-o -", target: func(_ *testing.T, _ string, stdout *bytes.Buffer) ([]string, func() []byte) {
			return []string{"-o", "-"}, stdout.Bytes
		}},
		{name: "-o /dev/stdout", target: func(_ *testing.T, _ string, stdout *bytes.Buffer) ([]string, func() []byte) {
			return []string{"-o", "/dev/stdout"}, stdout.Bytes
		}},
		{name: "a file named -", target: func(t *testing.T, dir string, _ *bytes.Buffer) ([]string, func() []byte) {
			t.Chdir(dir)
			return []string{"-o", "./-"}, readBack(t, filepath.Join(dir, "-"))
		}},
		{name: "new regular file", target: func(t *testing.T, dir string, _ *bytes.Buffer) ([]string, func() []byte) {
			p := filepath.Join(dir, "out.tar")
			return []string{"-o", p}, readBack(t, p)
		}},
		{name: "existing regular file", file: "out.tar", target: func(t *testing.T, dir string, _ *bytes.Buffer) ([]string, func() []byte) {
			p := filepath.Join(dir, "out.tar")
			writeFile(t, p, "replaced")
			return []string{"--output", p}, readBack(t, p)
		}},
		{name: "FIFO", target: func(t *testing.T, dir string, _ *bytes.Buffer) ([]string, func() []byte) {
			p := filepath.Join(dir, "fifo")
			if err := unix.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"-o", p}, drain(t, func() (*os.File, error) { return os.Open(p) })
		}},
		{name: "pipe as /proc/self/fd/N", target: func(t *testing.T, _ string, _ *bytes.Buffer) ([]string, func() []byte) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			read := drain(t, func() (*os.File, error) { return r, nil })
			return []string{"-o", fmt.Sprintf("/proc/self/fd/%d", w.Fd())}, func() []byte { w.Close(); return read() }
		}},
		{name: "regular file as /proc/self/fd/N", prefix: "kept\n", file: "log", inPlace: true, target: func(t *testing.T, dir string, _ *bytes.Buffer) ([]string, func() []byte) {
			p := filepath.Join(dir, "log")
			writeFile(t, p, "kept\n")
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return []string{"-o", fmt.Sprintf("/proc/self/fd/%d", f.Fd())}, readBack(t, p)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout bytes.Buffer
			out, read := tt.target(t, dir, &stdout)
			var before os.FileInfo
			if tt.file != "" {
				before = stat(t, filepath.Join(dir, tt.file))
			}
			args := append([]string{"--root", root, "image", "save", "web:1"}, out...)
			if stderr, err := dockahIO(t, nil, &stdout, args...); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, stderr)
			}
			if got := read(); !bytes.Equal(got, append([]byte(tt.prefix), want...)) {
				t.Errorf("%v wrote %d bytes, want %q and the %d bytes of the archive", args, len(got), tt.prefix, len(want))
			}
			if tt.file != "" && os.SameFile(before, stat(t, filepath.Join(dir, tt.file))) != tt.inPlace {
				t.Errorf("%v: %s replaced = %v, want %v", args, tt.file, tt.inPlace, !tt.inPlace)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".dockah-save-") {
					t.Errorf("%v left %s", args, e.Name())
				}
			}
		})
	}
}

// readBack returns a function that reads the file at p.
func readBack(t *testing.T, p string) func() []byte {
	return func() []byte {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
		}
		return data
	}
}

// drain reads what open returns until EOF, in the background (a writer
// of a FIFO or pipe blocks until it is read), and returns a function that
// waits for the bytes.
func drain(t *testing.T, open func() (*os.File, error)) func() []byte {
	done := make(chan []byte, 1)
	go func() {
		f, err := open()
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			t.Error(err)
		}
		done <- data
	}()
	return func() []byte { return <-done }
}

func stat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func writeFile(t *testing.T, p, text string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestImageSaveRefusesTerminal checks that the archive never goes to a
// terminal, whether it is stdout or named by -o, and that nothing is
// written to it.
func TestImageSaveRefusesTerminal(t *testing.T) {
	root, _ := newTestStore(t)
	tty := openTerminal(t)
	for _, out := range [][]string{
		nil,
		{"-o", "-"},
		{"-o", "/dev/stdout"},
		{"-o", tty.Name()},
		{"-o", fmt.Sprintf("/proc/self/fd/%d", tty.Fd())},
	} {
		args := append([]string{"--root", root, "image", "save", "web:1"}, out...)
		_, err := dockahIO(t, nil, tty, args...)
		if err == nil || err.Error() != "refusing to write an archive to a terminal; use -o FILE" {
			t.Errorf("%v = %v, want the refusal", args, err)
		}
	}
}

// openTerminal opens a new pseudo-terminal and returns its terminal side.
func openTerminal(t *testing.T) *os.File {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		testenv.Skip(t, fmt.Sprintf("needs a pseudo-terminal: %v", err))
	}
	t.Cleanup(func() { ptm.Close() })
	if err := unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return pts
}

// TestFDPath checks which -o names are taken for open descriptors, whose
// file is written in place rather than replaced.
func TestFDPath(t *testing.T) {
	for path, want := range map[string]bool{
		"/dev/stderr":            true,
		"/dev/fd/3":              true,
		"/proc/self/fd/7":        true,
		"/proc/thread-self/fd/7": true,
		"/proc/4211/fd/1":        true,
		"/dev/shm/out.tar":       false,
		"/proc/self/fdinfo/7":    false,
		"/tmp/fd/1":              false,
		"out.tar":                false,
	} {
		if got := fdPath().MatchString(path); got != want {
			t.Errorf("fdPath().MatchString(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestImageSaveImportPipe checks that an archive piped from `image save`
// into `image import -` of another store gives the same image ID, and
// that the spool file of the import does not stay in the store.
func TestImageSaveImportPipe(t *testing.T) {
	root, ids := newTestStore(t)
	other := filepath.Join(t.TempDir(), "other")
	tests := []struct {
		ref, want string
		format    string
	}{
		{"web:1", ids["docker.io/library/web:1"], "oci"},
		{"worker:2", ids["docker.io/library/worker:2"], "docker-archive"},
	}
	for _, tt := range tests {
		t.Run(tt.ref+" as "+tt.format, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			saved := make(chan error, 1)
			go func() {
				_, err := dockahIO(t, nil, w, "--root", root, "image", "save", "--format", tt.format, tt.ref)
				w.Close()
				saved <- err
			}()
			var stdout bytes.Buffer
			stderr, err := dockahIO(t, r, &stdout, "-q", "--root", other, "image", "import", "-")
			r.Close()
			if err := <-saved; err != nil {
				t.Fatalf("save: %v", err)
			}
			if err != nil {
				t.Fatalf("import -: %v\n%s", err, stderr)
			}
			if got := strings.TrimSpace(stdout.String()); got != tt.want {
				t.Errorf("import - printed %q, want the ID %s", got, tt.want)
			}
			if leftovers, _ := os.ReadDir(filepath.Join(other, "tmp")); len(leftovers) != 0 {
				t.Errorf("the store's tmp holds %v", leftovers)
			}
			st, _ := rootfs.Open(other)
			if img, err := st.Resolve(tt.ref); err != nil || img.ID != tt.want {
				t.Errorf("%s in the other store: %v", tt.ref, err)
			}
		})
	}
}

// TestImageImportStdinErrors checks the messages of a bad stdin: they
// name stdin, never the spool file the user did not make.
func TestImageImportStdinErrors(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	for _, tt := range []struct {
		name, stdin, want string
	}{
		{"empty", "", "a root filesystem tar needs --name"},
		{"not a tar", "hello", "open stdin: read archive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dockahIO(t, strings.NewReader(tt.stdin), io.Discard, "--root", root, "image", "import", "-")
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "stdin.tar") {
				t.Errorf("import - of %q = %v, want %q and not the spool file", tt.stdin, err, tt.want)
			}
		})
	}
}
