package build

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// linkFS is a context with symlinks of every kind: inside, absolute
// (which Docker resolves inside the context), and climbing out with "..".
func linkFS() fstest.MapFS {
	link := func(target string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink}
	}
	return fstest.MapFS{
		"a/b/file":     {Data: []byte("x")},
		"etc/passwd":   {Data: []byte("context's")},
		"rel":          link("a/b"),
		"abs":          link("/etc"),
		"up":           link("../../../etc"),
		"a/b/back":     link("../../a"),
		"loop1":        link("loop2"),
		"loop2":        link("loop1"),
		"dangling":     link("nowhere"),
		"a/b/filelink": link("file"),
	}
}

func TestResolveInRoot(t *testing.T) {
	fsys := linkFS()
	for _, tc := range []struct {
		in, want string
		follow   bool
		err      error
	}{
		{"a/b/file", "a/b/file", true, nil},
		{"/a/b/file", "a/b/file", true, nil},
		{"../../a/b/file", "a/b/file", true, nil},
		{"rel/file", "a/b/file", true, nil},
		{"abs/passwd", "etc/passwd", true, nil},
		{"up/passwd", "etc/passwd", true, nil},
		{"a/b/back/b/file", "a/b/file", true, nil},
		{"a/b/filelink", "a/b/file", true, nil},
		{"a/b/filelink", "a/b/filelink", false, nil},
		{"rel", "a/b", true, nil},
		{"rel", "rel", false, nil},
		{".", ".", true, nil},
		{"..", ".", true, nil},
		{"missing", "", true, fs.ErrNotExist},
		{"dangling", "", true, fs.ErrNotExist},
		{"loop1", "", true, errLinkLoop},
		{"a/b/file/x", "", true, errNotDir},
	} {
		got, err := ResolveInRoot(fsys, tc.in, tc.follow)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("ResolveInRoot(%q) = %q, %v; want error %v", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ResolveInRoot(%q, %v) = %q, %v; want %q", tc.in, tc.follow, got, err, tc.want)
		}
	}
}

// FuzzResolveInRoot: whatever the path, the result is a clean relative
// path of the context with no symlink on the way: nothing is ever
// resolved outside it.
func FuzzResolveInRoot(f *testing.F) {
	for _, s := range []string{"a/b/file", "../../../etc/passwd", "/abs/../up/./passwd", "rel/../rel/back/b", "loop1/x", "//a//b/"} {
		f.Add(s, true)
	}
	fsys := linkFS()
	f.Fuzz(func(t *testing.T, p string, follow bool) {
		got, err := ResolveInRoot(fsys, p, follow)
		if err != nil {
			return
		}
		if got != "." && (strings.HasPrefix(got, "/") || !fs.ValidPath(got)) {
			t.Fatalf("ResolveInRoot(%q) = %q: not a clean path inside the root", p, got)
		}
		elems := strings.Split(got, "/")
		for i := range elems {
			if got == "." {
				break
			}
			prefix := strings.Join(elems[:i+1], "/")
			info, err := fsys.Lstat(prefix)
			if err != nil {
				t.Fatalf("ResolveInRoot(%q) = %q: %s does not exist", p, got, prefix)
			}
			last := i == len(elems)-1
			if info.Mode()&fs.ModeSymlink != 0 && (follow || !last) {
				t.Fatalf("ResolveInRoot(%q) = %q: %s is a symlink", p, got, prefix)
			}
		}
	})
}

// writeContext makes a context directory from a map of files.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(data, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Ignore files behave as Docker's: a pattern matches from the context's
// root, ** any number of directories, ! brings back what an earlier
// pattern excluded, and .containerignore is read before .dockerignore.
func TestIgnoreRules(t *testing.T) {
	files := map[string]string{
		"app/main.sh": "", "app/debug.log": "", "app/keep.log": "", "top.log": "",
		"deep/a/b/c.tmp": "", "deep/a/b/d.txt": "", "secret/key": "", "secret/public.pem": "",
		".dockerignore": "*.log\n**/*.tmp\napp/*.log\n!app/keep.log\nsecret\n!secret/*.pem\n",
	}
	c, err := OpenContext(writeContext(t, files))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := map[string]bool{
		"app/main.sh": false, "app/debug.log": true, "app/keep.log": false, "top.log": true,
		"deep/a/b/c.tmp": true, "deep/a/b/d.txt": false, "secret/key": true, "secret/public.pem": false,
	}
	for name, ignored := range want {
		got, err := c.Ignored(name)
		if err != nil || got != ignored {
			t.Errorf("Ignored(%s) = %v, %v; want %v", name, got, err, ignored)
		}
	}
	matched, err := c.Match("app/*")
	if err != nil {
		t.Fatal(err)
	}
	if diff := slices.Compare(matched, []string{"app/keep.log", "app/main.sh"}); diff != 0 {
		t.Errorf("app/* matched %v", matched)
	}
	if _, err := c.Match("top.log"); err == nil {
		t.Error("an excluded file named as a source was found")
	}
	if _, err := c.Match("secret/public.pem"); err != nil {
		t.Errorf("a file a ! pattern keeps: %v", err)
	}

	files[".containerignore"] = "app\n"
	c2, err := OpenContext(writeContext(t, files))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if ig, _ := c2.Ignored("top.log"); ig || c2.IgnoreFile != ".containerignore" {
		t.Errorf(".containerignore is not read first (%s)", c2.IgnoreFile)
	}
}

// A source symlink pointing out of the context is resolved inside it;
// os.Root stops whatever is left.
func TestMatchStaysInContext(t *testing.T) {
	dir := writeContext(t, map[string]string{"etc/passwd": "mine", "out": "->/etc", "up": "->../../../../etc"})
	c, err := OpenContext(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, src := range []string{"out/passwd", "up/passwd", "../../etc/passwd", "/etc/passwd"} {
		got, err := c.Match(src)
		if err != nil || len(got) != 1 || got[0] != "etc/passwd" {
			t.Errorf("Match(%s) = %v, %v; want etc/passwd of the context", src, got, err)
		}
	}
}
