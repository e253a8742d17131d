package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/rootfs/archive"
	"github.com/dockah/dockah/rootfs/merged"
	"github.com/dockah/dockah/tests/testenv"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// busyboxStore makes a store holding busybox:1 (busybox from the host,
// applets, a passwd with web, uid 1000). It needs root, as RUN does.
func busyboxStore(t *testing.T) string {
	t.Helper()
	lower, _ := testenv.BusyboxImage(t)
	for _, a := range []string{"mkdir", "chmod", "pwd", "false", "test", "stat", "printf"} {
		if err := os.Symlink("busybox", filepath.Join(lower, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(t.TempDir(), "busybox.tar")
	if out, err := exec.Command("tar", "-C", lower, "-cf", src, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	root := filepath.Join(t.TempDir(), "store")
	st, err := rootfs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Import(st, src, archive.ImportOptions{Name: "busybox:1", Config: v1.ImageConfig{Cmd: []string{"sh"}}}); err != nil {
		t.Fatal(err)
	}
	return root
}

// dockahBuild runs dockah build in-process and returns its output and
// error.
func dockahBuild(t *testing.T, root string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetArgs(append([]string{"--root", root, "build"}, args...))
	_, err = cmd.ExecuteC()
	return out.String(), errOut.String(), err
}

// imageFile reads a file of an image of the store, as its layers merge.
func imageFile(t *testing.T, root, ref, p string) string {
	t.Helper()
	st, err := rootfs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	img, err := st.Resolve(ref)
	if err != nil {
		t.Fatal(err)
	}
	var lower []string
	for i := len(img.Layers) - 1; i >= 0; i-- {
		lower = append(lower, img.Layers[i].Dir)
	}
	v, err := merged.Open(lower)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	e, ok, err := v.Lookup(p, true)
	if err != nil || !ok {
		t.Fatalf("%s in %s: %v (found %v)", p, ref, err, ok)
	}
	f, err := v.Open(e)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	return string(data)
}

// leftovers lists what a build must not leave in the store: writable
// layers of its containers and work directories.
func leftovers(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"containers", "tmp"} {
		entries, _ := os.ReadDir(filepath.Join(root, dir))
		for _, e := range entries {
			out = append(out, dir+"/"+e.Name())
		}
	}
	return out
}

// A multi-stage build: the first stage makes a program with RUN (a
// shell script stands in for a compiler), ARG and ENV reach it, the
// second copies it with --chown; then the same build is all cache.
func TestBuildMultiStageInProcess(t *testing.T) {
	root := busyboxStore(t)
	dir := t.TempDir()
	file := `ARG VERSION=1
FROM busybox:1 AS compile
ARG VERSION
ENV GREETING="hello"
WORKDIR /src
COPY greet.in .
RUN mkdir -p /out && { echo '#!/bin/sh'; echo "echo $GREETING $(cat greet.in) v$VERSION"; } > /out/greet && chmod 755 /out/greet
RUN <<EOT
echo built by $(id -u) in $(pwd)
test -x /out/greet
EOT

FROM busybox:1
COPY --from=compile --chown=web /out/greet /usr/local/bin/greet
USER web
WORKDIR /home/web
RUN id -u > /home/web/uid && pwd > /home/web/pwd
ENTRYPOINT ["/usr/local/bin/greet"]
`
	for name, data := range map[string]string{"Containerfile": file, "greet.in": "world"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, progress, err := dockahBuild(t, root, "-t", "greet:1", "--build-arg", "VERSION=2", dir)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, progress)
	}
	for _, want := range []string{"STEP 1/13: FROM busybox:1 AS compile", "built by 0 in /src", "Successfully tagged localhost/greet:1"} {
		if !strings.Contains(progress, want) {
			t.Errorf("output lacks %q:\n%s", want, progress)
		}
	}
	if got := imageFile(t, root, "greet:1", "/usr/local/bin/greet"); !strings.Contains(got, "echo hello world v2") {
		t.Errorf("the program built: %q", got)
	}
	if uid, pwd := imageFile(t, root, "greet:1", "/home/web/uid"), imageFile(t, root, "greet:1", "/home/web/pwd"); uid != "1000\n" || pwd != "/home/web\n" {
		t.Errorf("USER and WORKDIR: RUN ran as %q in %q", uid, pwd)
	}
	if l := leftovers(t, root); len(l) > 0 {
		t.Errorf("the build left %v", l)
	}
	st, _ := rootfs.Open(root)
	all, _ := st.List()
	listed, err := withoutIntermediates(st, all)
	if err != nil || len(listed) != 2 || len(all) < 10 {
		t.Errorf("image ls lists %d images of %d, want busybox:1 and greet:1 (%v)", len(listed), len(all), err)
	}
	again, progress, err := dockahBuild(t, root, "-t", "greet:1", "--build-arg", "VERSION=2", dir)
	if err != nil || again != id {
		t.Fatalf("second build: %q (first %q), %v\n%s", again, id, err, progress)
	}
	if n := strings.Count(progress, "Using cache"); n != 11 {
		t.Errorf("second build used the cache %d times, want 11 (all but the two FROMs):\n%s", n, progress)
	}
	changed, progress, err := dockahBuild(t, root, "-t", "greet:1", "--build-arg", "VERSION=3", dir)
	if err != nil || changed == id || !strings.Contains(imageFile(t, root, "greet:1", "/usr/local/bin/greet"), "v3") {
		t.Errorf("a changed build arg: %q, %v\n%s", changed, err, progress)
	}
}

// A failed RUN names its line, shows the command's output, and leaves
// no container behind.
func TestBuildFailingRun(t *testing.T) {
	root := busyboxStore(t)
	dir := t.TempDir()
	file := "FROM busybox:1\nRUN echo fine\nRUN echo about to fail; echo on stderr >&2; false\nRUN echo never\n"
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := dockahBuild(t, root, "-q", dir)
	if err == nil {
		t.Fatal("the build succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"Containerfile:3:", "exit status 1", "about to fail", "on stderr"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "never") {
		t.Errorf("a step after the failure ran: %q", msg)
	}
	if l := leftovers(t, root); len(l) > 0 {
		t.Errorf("the failed build left %v", l)
	}
}

// A build interrupted while a RUN runs (Ctrl-C is the cancellation of
// the command's context) kills the step's container at once and leaves
// nothing behind.
func TestBuildInterrupted(t *testing.T) {
	root := busyboxStore(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte("FROM busybox:1\nRUN echo started; sleep 60\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCommand()
	var out syncBuffer
	cmd.SetOut(io.Discard)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--root", root, "build", dir})
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- cmd.ExecuteContext(ctx) }()
	for !strings.Contains(out.String(), "started") {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the RUN did not start:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("an interrupted build returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the build went on after it was interrupted")
	}
	if l := leftovers(t, root); len(l) > 0 {
		t.Errorf("the interrupted build left %v", l)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ONBUILD triggers are stored in the image and run by the build of an
// image FROM it, which does not inherit them; SHELL and STOPSIGNAL, with
// the shell form of RUN, go through too.
func TestBuildOnbuildTriggers(t *testing.T) {
	root := busyboxStore(t)
	parent, child := t.TempDir(), t.TempDir()
	files := map[string]string{
		parent + "/Containerfile": "FROM busybox:1\nSHELL [\"/bin/sh\", \"-ec\"]\nONBUILD COPY note.txt /note.txt\nONBUILD RUN echo \"trigger ran in $0 $-\" > /trigger\nSTOPSIGNAL SIGQUIT\n",
		child + "/Containerfile":  "FROM base:onbuild\nRUN cat /note.txt /trigger > /both\n",
		child + "/note.txt":       "from the child's context\n",
	}
	for p, data := range files {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, out, err := dockahBuild(t, root, "-t", "base:onbuild", parent); err != nil {
		t.Fatalf("parent: %v\n%s", err, out)
	}
	if _, out, err := dockahBuild(t, root, "-t", "child:1", child); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	} else if !strings.Contains(out, "ONBUILD: RUN echo") {
		t.Errorf("the triggers are not shown:\n%s", out)
	}
	got := imageFile(t, root, "child:1", "/both")
	flags, _ := strings.CutPrefix(got, "from the child's context\ntrigger ran in /bin/sh ")
	if flags == got || !strings.Contains(flags, "e") {
		t.Errorf("/both = %q: want the note, then the trigger run by SHELL (-e in $-)", got)
	}
	st, _ := rootfs.Open(root)
	img, _ := st.Resolve("child:1")
	raw := string(img.RawConfig)
	if strings.Contains(raw, `"OnBuild"`) || !strings.Contains(raw, `"StopSignal":"SIGQUIT"`) || !strings.Contains(raw, `"Shell":["/bin/sh","-ec"]`) {
		t.Errorf("child config %s: want no OnBuild, the parent's StopSignal and Shell", raw)
	}
}

// -f - reads the file from the input; the context is still the
// directory given.
func TestBuildFileFromInput(t *testing.T) {
	root := busyboxStore(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("in the context\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader("FROM busybox:1\nCOPY data.txt /\n"))
	cmd.SetArgs([]string{"--root", root, "build", "-q", "-f", "-", "-t", "stdin:1", dir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "sha256:") || errOut.Len() != 0 {
		t.Errorf("-q printed %q and %q; want the ID only", out.String(), errOut.String())
	}
	if got := imageFile(t, root, "stdin:1", "/data.txt"); got != "in the context\n" {
		t.Errorf("/data.txt = %q", got)
	}
}

// RUN has the host's network by default, as podman build, and loopback
// only with --network none. (The network is not part of the cache key,
// as in Docker: hence --no-cache.)
func TestBuildNetwork(t *testing.T) {
	root := busyboxStore(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte("FROM busybox:1\nRUN cat /proc/net/dev | wc -l > /lines\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	for network, want := range map[string]int{"host": strings.Count(string(host), "\n"), "none": 3} {
		if _, out, err := dockahBuild(t, root, "--no-cache", "--network", network, "-t", "net:"+network, dir); err != nil {
			t.Fatalf("--network %s: %v\n%s", network, err, out)
		}
		if got := strings.TrimSpace(imageFile(t, root, "net:"+network, "/lines")); got != fmt.Sprint(want) {
			t.Errorf("--network %s: RUN saw %s lines of /proc/net/dev, want %d", network, got, want)
		}
	}
	if _, _, err := dockahBuild(t, root, "--network", "bridge", dir); err == nil || !strings.Contains(err.Error(), "host or none") {
		t.Errorf("--network bridge: %v", err)
	}
}
