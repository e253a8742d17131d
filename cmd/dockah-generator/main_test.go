package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/internal/deftest"
)

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// definitions are a good container with a socket started at boot, and a bad one.
var definitions = fstest.MapFS{
	"etc/dockah/containers/web.toml": deftest.New("library/nginx:1.25").
		Table("[[socket]]", `listen = "127.0.0.1:18180"`, "port = 80").
		Table("[service]", `wanted_by = ["sockets.target"]`).File(),
	"etc/dockah/containers/bad.toml": deftest.New("library/nginx:1.25").
		Table("[[socket]]", `listen = "80800"`).File(),
}

func TestRunWritesUnitsAndReportsProblems(t *testing.T) {
	normal := t.TempDir()
	var stderr, kmsg bytes.Buffer
	log := &logger{stderr: &stderr, kmsg: nopCloser{&kmsg}}
	if code := run([]string{normal, t.TempDir(), t.TempDir()}, definitions, io.Discard, log); code != 0 {
		t.Fatalf("exit status %d, want 0 with a bad definition\n%s", code, stderr.String())
	}
	var got []string
	_ = filepath.WalkDir(normal, func(p string, d os.DirEntry, err error) error {
		if p != normal && !d.IsDir() {
			rel, _ := filepath.Rel(normal, p)
			if d.Type()&os.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				rel += " -> " + target
			}
			got = append(got, rel)
		}
		return err
	})
	want := []string{"bad.service", "dockah-pull@web.service.d/50-present.conf", "dockah.slice", "sockets.target.wants/web.socket -> ../web.socket", "web.service", "web.socket"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files in the output directory (-want +got):\n%s", diff)
	}
	problem := `dockah: /etc/dockah/containers/bad.toml:5: socket.listen: "80800" is not a port (accepted: PORT 1-65535, ADDR:PORT, [ADDR]:PORT, or an absolute unix socket path)`
	if diff := cmp.Diff("<3>"+problem+"\n", kmsg.String()); diff != "" {
		t.Errorf("kmsg (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(problem+"\n", stderr.String()); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	unit, err := os.ReadFile(filepath.Join(normal, "web.service"))
	if err != nil || !strings.Contains(string(unit), "ExecStart="+shimPath+" web\n") {
		t.Errorf("web.service does not run the shim %s:\n%s", shimPath, unit)
	}
}

func TestRunLogsToTheJournalWithoutKmsg(t *testing.T) {
	var stderr bytes.Buffer
	var entries []map[string]string
	log := &logger{stderr: &stderr, journal: func(msg string, vars map[string]string) error {
		vars["MESSAGE"] = msg
		entries = append(entries, vars)
		return nil
	}}
	if code := run([]string{t.TempDir()}, definitions, io.Discard, log); code != 0 {
		t.Fatalf("exit status %d\n%s", code, stderr.String())
	}
	want := []map[string]string{{
		"MESSAGE":           `dockah: /etc/dockah/containers/bad.toml:5: socket.listen: "80800" is not a port (accepted: PORT 1-65535, ADDR:PORT, [ADDR]:PORT, or an absolute unix socket path)`,
		"SYSLOG_IDENTIFIER": "dockah-generator",
		"DOCKAH_CONTAINER":  "bad",
		"DOCKAH_DEFINITION": "/etc/dockah/containers/bad.toml",
	}}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("journal entries (-want +got):\n%s", diff)
	}
}

func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{[]string{"-h"}, 0},
		{nil, 2},
		{[]string{"a", "b"}, 2},
	} {
		var out bytes.Buffer
		if code := run(tc.args, fstest.MapFS{}, &out, &logger{stderr: &out}); code != tc.code || !strings.Contains(out.String(), "usage: dockah-generator") {
			t.Errorf("run(%q) = %d, want %d with the usage; output:\n%s", tc.args, code, tc.code, out.String())
		}
	}
}

func TestRunFailsWhenItCannotWrite(t *testing.T) {
	var stderr bytes.Buffer
	missing := filepath.Join(t.TempDir(), "missing")
	if code := run([]string{missing}, definitions, io.Discard, &logger{stderr: &stderr}); code != 1 || !strings.Contains(stderr.String(), "write units:") {
		t.Errorf("run into a missing directory = %d, want 1 and a message; output:\n%s", code, stderr.String())
	}
}

// BenchmarkRun is the generator's whole run over 1,000 definitions with a
// drop-in each (deftest.Apps), on disk: read, parse, render, write the
// units and links.
func BenchmarkRun(b *testing.B) {
	root := b.TempDir()
	if err := deftest.Write(root, deftest.Apps(1000)); err != nil {
		b.Fatal(err)
	}
	fsys := hostFS{root: root}
	// systemd's generator directories are on a tmpfs (/run).
	tmpfs := "/dev/shm"
	if _, err := os.Stat(tmpfs); err != nil {
		tmpfs = b.TempDir()
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		out, err := os.MkdirTemp(tmpfs, "dockah-generator-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(out) })
		b.StartTimer()
		if code := run([]string{out}, fsys, io.Discard, &logger{stderr: io.Discard}); code != 0 {
			b.Fatalf("exit status %d", code)
		}
	}
}

// TestHostFS checks the generator's file system against the fs.FS rules,
// and against os.DirFS on the same tree.
func TestHostFS(t *testing.T) {
	root := t.TempDir()
	if err := deftest.Write(root, fstest.MapFS{
		"etc/dockah/containers/web.toml":             deftest.New("x").File(),
		"etc/dockah/containers/web.toml.d/10-a.toml": deftest.DropIn().File(),
		"usr/lib/dockah/containers/db.toml":          deftest.DropIn().File(),
		"etc/dockah/containers/masked.toml":          deftest.Masked(),
	}); err != nil {
		t.Fatal(err)
	}
	h := hostFS{root: root}
	if err := fstest.TestFS(h, "etc/dockah/containers/web.toml", "etc/dockah/containers/web.toml.d/10-a.toml", "usr/lib/dockah/containers/db.toml"); err != nil {
		t.Error(err)
	}
	if target, err := fs.ReadLink(h, "etc/dockah/containers/masked.toml"); err != nil || target != "/dev/null" {
		t.Errorf("ReadLink = %q, %v", target, err)
	}
	entries, err := fs.ReadDir(h, "etc/dockah/containers")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name()+" "+e.Type().String())
	}
	want := []string{"masked.toml L---------", "web.toml ----------", "web.toml.d d---------"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadDir (-want +got):\n%s", diff)
	}
	if _, err := h.Open("../etc"); err == nil {
		t.Error("Open(../etc) left the root")
	}
}

func TestLoggerConnectsAtTheFirstProblemOnly(t *testing.T) {
	for _, tc := range []struct {
		defs  fstest.MapFS
		calls int
	}{
		{fstest.MapFS{"etc/dockah/containers/web.toml": definitions["etc/dockah/containers/web.toml"]}, 0},
		{definitions, 1},
	} {
		calls := 0
		log := &logger{stderr: io.Discard, connect: func(*logger) { calls++ }}
		if code := run([]string{t.TempDir()}, tc.defs, io.Discard, log); code != 0 || calls != tc.calls {
			t.Errorf("run = %d with %d connects, want 0 with %d", code, calls, tc.calls)
		}
	}
}
