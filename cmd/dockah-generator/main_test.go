package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// definitions are a good container with a socket started at boot, and a bad one.
var definitions = fstest.MapFS{
	"etc/dockah/containers/web.toml": {Data: []byte(`[container]
image = "library/nginx:1.25"

[[socket]]
listen = "127.0.0.1:18180"
port = 80

[service]
wanted_by = ["sockets.target"]
`)},
	"etc/dockah/containers/bad.toml": {Data: []byte(`[container]
image = "library/nginx:1.25"

[[socket]]
listen = "80800"
`)},
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
	want := []string{"bad.service", "sockets.target.wants/web.socket -> ../web.socket", "web.service", "web.socket"}
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
