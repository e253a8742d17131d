package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/rootfs/merged"
)

// imageView is an image of one layer with a merged /usr (bin -> usr/bin),
// a passwd and a group.
func imageView(t *testing.T) *merged.View {
	t.Helper()
	layer := t.TempDir()
	for _, d := range []string{"usr/bin", "etc", "srv"} {
		if err := os.MkdirAll(filepath.Join(layer, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(layer, "srv"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(layer, "bin")); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\ngrp:x:2000:\n",
		"usr/bin/sh": "#!",
	} {
		if err := os.WriteFile(filepath.Join(layer, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v, err := merged.Open([]string{layer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// entries lists a tar as "NAME MODE UID:GID [-> LINK] [CONTENT]".
func entries(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%s %o %d:%d", hdr.Name, hdr.Mode, hdr.Uid, hdr.Gid)
		if hdr.Linkname != "" {
			line += " -> " + hdr.Linkname
		}
		if hdr.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			line += " " + string(b)
		}
		out = append(out, line)
	}
}

func copyInto(t *testing.T, v *merged.View, ctx map[string]string, op copyOp) ([]string, copyResult, error) {
	t.Helper()
	c, err := OpenContext(writeContext(t, ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	op.now = time.Unix(0, 0)
	var buf bytes.Buffer
	res, err := writeCopy(&buf, v, contextTree{c}, op)
	if err != nil {
		return nil, res, err
	}
	return entries(t, buf.Bytes()), res, nil
}

// me is the owner of the test's image directories, as the layer has them.
func me() string { return fmt.Sprintf("%d:%d", os.Geteuid(), os.Getegid()) }

func TestCopyResolvesTheDestinationInTheImage(t *testing.T) {
	v := imageView(t)
	ctx := map[string]string{"app.sh": "run", "conf/a": "A", "conf/sub/b": "B", "conf/skip.log": "no", ".dockerignore": "conf/*.log\n"}
	for _, tc := range []struct {
		name string
		op   copyOp
		want []string
	}{
		{"into a symlinked directory", copyOp{instr: "COPY", sources: []string{"app.sh"}, dest: "/bin/"},
			[]string{"usr/ 755 " + me(), "usr/bin/ 755 " + me(), "usr/bin/app.sh 644 0:0 run"}},
		{"to a file name", copyOp{instr: "COPY", sources: []string{"app.sh"}, dest: "/opt/tool"},
			[]string{"opt/ 755 0:0", "opt/tool 644 0:0 run"}},
		{"a directory's content, ignore file applied, chown by name", copyOp{instr: "COPY", sources: []string{"conf"}, dest: "/srv/conf", chown: mustChown(t, v, "app:grp")},
			[]string{"srv/ 750 " + me(), "srv/conf/ 755 1000:2000", "srv/conf/a 644 1000:2000 A", "srv/conf/sub/ 755 1000:2000", "srv/conf/sub/b 644 1000:2000 B"}},
		{"chmod, and an existing directory as the destination", copyOp{instr: "COPY", sources: []string{"app.sh"}, dest: "/srv", chmod: mode(0o700)},
			[]string{"srv/ 750 " + me(), "srv/app.sh 700 0:0 run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := copyInto(t, v, ctx, tc.op)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("layer (-want +got):\n%s", diff)
			}
		})
	}
}

func mustChown(t *testing.T, v *merged.View, spec string) *owner {
	b := &builder{}
	o, err := parseChown(spec, b.imageFile(v, "/etc/passwd"), b.imageFile(v, "/etc/group"))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mode(m os.FileMode) *os.FileMode { return &m }

func TestChown(t *testing.T) {
	v := imageView(t)
	for spec, want := range map[string]owner{"app": {1000, 1000}, "app:grp": {1000, 2000}, "5:6": {5, 6}, "7": {7, 7}, "0:grp": {0, 2000}} {
		if got := mustChown(t, v, spec); *got != want {
			t.Errorf("--chown=%s: %v, want %v", spec, *got, want)
		}
	}
	b := &builder{}
	for user, want := range map[string]*owner{"": nil, "root": nil, "app": {1000, 1000}, "app:grp": {1000, 2000}, "42": {42, 0}, "42:7": {42, 7}} {
		got, err := userOwner(user, b.imageFile(v, "/etc/passwd"), b.imageFile(v, "/etc/group"))
		if err != nil || (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("owner of USER %q's new WORKDIR: %v, %v; want %v", user, got, err, want)
		}
	}
	for _, bad := range []string{"nobody", "app:nogroup"} {
		if _, err := parseChown(bad, b.imageFile(v, "/etc/passwd"), b.imageFile(v, "/etc/group")); err == nil {
			t.Errorf("--chown=%s accepted", bad)
		}
	}
}

func TestCopyErrors(t *testing.T) {
	v := imageView(t)
	ctx := map[string]string{"a": "1", "b": "2"}
	for _, tc := range []struct {
		op   copyOp
		want string
	}{
		{copyOp{instr: "COPY", sources: []string{"a", "b"}, dest: "/x"}, "must be a directory and end with a /"},
		{copyOp{instr: "COPY", sources: []string{"missing"}, dest: "/x/"}, "not found in the build context"},
		{copyOp{instr: "ADD", sources: []string{"https://example.com/f"}, dest: "/x/"}, "URLs are not supported"},
		{copyOp{instr: "COPY", sources: []string{"a"}, dest: "/etc/passwd/x/"}, "is not a directory in the image"},
	} {
		if _, _, err := copyInto(t, v, ctx, tc.op); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.op.sources, err, tc.want)
		}
	}
}

// ADD unpacks a local archive below the destination, whatever its member
// names say.
func TestAddUnpacksArchivesInside(t *testing.T) {
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	for _, name := range []string{"ok.txt", "../../escape.txt", "/abs.txt", "d/.wh.gone"} {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: 2, Typeflag: tar.TypeReg, Uid: 7})
		_, _ = tw.Write([]byte("hi"))
	}
	tw.Close()
	zw.Close()
	v := imageView(t)
	got, _, err := copyInto(t, v, map[string]string{"a.tgz": tgz.String()}, copyOp{instr: "ADD", sources: []string{"a.tgz"}, dest: "/srv/", unpack: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"srv/ 750 " + me(), "srv/ok.txt 600 7:0 hi", "srv/escape.txt 600 7:0 hi", "srv/abs.txt 600 7:0 hi"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layer (-want +got):\n%s", diff)
	}
	got, _, err = copyInto(t, v, map[string]string{"a.tgz": tgz.String()}, copyOp{instr: "COPY", sources: []string{"a.tgz"}, dest: "/srv/"})
	if err != nil || len(got) != 2 || !strings.HasPrefix(got[1], "srv/a.tgz 644") {
		t.Errorf("COPY of an archive: %v, %v; want the file as it is", got, err)
	}
}

// The content digest (the cache key's) changes with the content and
// the mode of what is copied, and not with its time.
func TestCopyContentDigest(t *testing.T) {
	v := imageView(t)
	op := copyOp{instr: "COPY", sources: []string{"a"}, dest: "/new/dir/"}
	_, r1, _ := copyInto(t, v, map[string]string{"a": "1"}, op)
	_, r2, _ := copyInto(t, v, map[string]string{"a": "2"}, op)
	op.chmod = mode(0o600)
	_, r3, _ := copyInto(t, v, map[string]string{"a": "1"}, op)
	if r1.content == r2.content || r1.content == r3.content || r1.kind != "file" {
		t.Errorf("digests %s %s %s (kind %s): want each different", r1.content, r2.content, r3.content, r1.kind)
	}
	op.chmod = nil
	time.Sleep(1100 * time.Millisecond) // another second for the file's time
	if _, r4, _ := copyInto(t, v, map[string]string{"a": "1"}, op); r4.content != r1.content {
		t.Errorf("a file written again with the same bytes changed the digest: %s, then %s", r1.content, r4.content)
	}
}
