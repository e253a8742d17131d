package registry

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// podmanDir makes a directory for a podman store of the test's own, at a
// short path: podman refuses a runroot path longer than 50 characters,
// which t.TempDir's would be.
func podmanDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// podman runs podman on the host with a store of its own under dir (from
// podmanDir): no state of this machine's podman is read or written.
func podman(t *testing.T, dir string, args ...string) string {
	t.Helper()
	global := []string{
		"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"),
		"--tmpdir", filepath.Join(dir, "tmp"), "--storage-driver", "vfs",
		"--events-backend", "none", "--cgroup-manager", "cgroupfs",
	}
	return Tool(t, "podman", append(global, args...)...)
}

// podmanArchive imports entries as a root filesystem into a podman store
// of its own ("podman import") and saves the image as a docker-archive,
// whose path it returns: an image made by another tool.
func podmanArchive(t *testing.T, entries []images.Entry) string {
	t.Helper()
	dir := podmanDir(t)
	rootfs := filepath.Join(dir, "rootfs.tar")
	if err := images.WriteTar(rootfs, entries); err != nil {
		t.Fatal(err)
	}
	podman(t, dir, "import", rootfs, "localhost/acceptance-tools:latest")
	archive := filepath.Join(dir, "tools.tar")
	podman(t, dir, "save", "--format", "docker-archive", "-o", archive, "localhost/acceptance-tools:latest")
	return archive
}

// TestPullImageMadeByPodman pulls an image that podman made and skopeo
// pushed to a plain HTTP registry (marked insecure in registries.conf.d),
// lists it by its full name and runs it.
func TestPullImageMadeByPodman(t *testing.T) {
	b := box.Shared(t)
	r := Start(t, Options{})
	r.Copy(t, "docker-archive:"+podmanArchive(t, images.Busybox(t, "sh")), "acceptance/tools:latest")
	ref := r.Ref("acceptance/tools:latest")
	removeImage(t, b, ref)
	// As an administrator would for a plain HTTP registry (dockah also
	// falls back to HTTP for a loopback one without it: docs/registries.md).
	r.InsecureConf(t, b)

	id := printedDigest(t, "dockah pull", dockah(t, b, "pull", ref))
	if want := manifestConfig(t, r, "acceptance/tools:latest"); id != want {
		t.Errorf("dockah pull printed %s, the registry's config digest is %s", id, want)
	}
	if got := imageID(t, b, ref); got != id {
		t.Errorf("dockah image inspect %s: id %s, pull printed %s", ref, got, id)
	}
	if !listed(t, b, r.Host+"/acceptance/tools", "latest") {
		t.Errorf("dockah image ls does not list %s/acceptance/tools latest:\n%s", r.Host, dockah(t, b, "image", "ls").stdout)
	}
	out := dockah(t, b, "run", "--rm", ref, "/bin/busybox", "echo", "hi")
	if !regexp.MustCompile(`(?m)^hi\r?$`).MatchString(out.stdout) {
		t.Errorf("dockah run --rm %s /bin/busybox echo hi printed:\n%s", ref, out.output())
	}
	// -q prints the image ID and nothing else.
	if q := dockah(t, b, "pull", "-q", ref); strings.TrimSpace(q.stdout) != id {
		t.Errorf("dockah pull -q: stdout %q, want only %s", q.stdout, id)
	}
}

// TestPullSharesLayers pulls a three-layer image made by umoci, then a
// second image on the same base layer: the store gains exactly the new
// layers, and the second pull says the base layer is already there.
func TestPullSharesLayers(t *testing.T) {
	b := box.Shared(t)
	r := Start(t, Options{})
	r.InsecureConf(t, b)
	l := newLayout(t)
	l.build("base", "", append(images.Busybox(t, "cat"), marker(t)))
	// Every layer holds a marker of this run, so that each is new to the
	// store, even when an earlier run pulled the same files.
	l.build("multi", "base",
		[]images.Entry{{Name: "etc/one", Data: []byte("one\n"), Mode: 0o644}, marker(t)},
		[]images.Entry{{Name: "etc/two", Data: []byte("two\n"), Mode: 0o644}, marker(t)})
	l.build("sibling", "base", []images.Entry{{Name: "etc/sibling", Data: []byte("sibling\n"), Mode: 0o644}, marker(t)})
	for _, tag := range []string{"multi", "sibling"} {
		r.Copy(t, l.src(tag), "acceptance/"+tag+":1")
		removeImage(t, b, r.Ref("acceptance/"+tag+":1"))
	}
	multi, sibling := diffIDs(t, r, "acceptance/multi:1"), diffIDs(t, r, "acceptance/sibling:1")
	if len(multi) != 3 || len(sibling) != 2 || multi[0] != sibling[0] {
		t.Fatalf("umoci made layers %v and %v, want three and two on one base", multi, sibling)
	}

	before := storeLayers(t, b)
	dockah(t, b, "pull", r.Ref("acceptance/multi:1"))
	after := storeLayers(t, b)
	checkNewLayers(t, "the pull of multi", before, after, multi)
	out := dockah(t, b, "run", "--rm", r.Ref("acceptance/multi:1"), "/bin/busybox", "cat", "/etc/one", "/etc/two")
	if !strings.Contains(out.stdout, "one\ntwo\n") && !strings.Contains(out.stdout, "one\r\ntwo\r\n") {
		t.Errorf("the layers of multi are not all in its root: cat printed\n%s", out.output())
	}

	res := dockah(t, b, "pull", r.Ref("acceptance/sibling:1"))
	checkNewLayers(t, "the pull of sibling", after, storeLayers(t, b), sibling[1:])
	// The base layer, and only it, is named (by a prefix of its diff ID
	// or of its blob's digest) on a line that says it is already there.
	diffID := sibling[0]
	blob := strings.TrimPrefix(manifest(t, r, "acceptance/sibling:1").Layers[0].Digest, "sha256:")
	present := regexp.MustCompile(`(?i)\b([0-9a-f]{12,64})\b.*\b(exists|already)`)
	var named []string
	for _, line := range strings.Split(res.stderr+res.stdout, "\n") {
		if m := present.FindStringSubmatch(line); m != nil {
			named = append(named, m[1])
		}
	}
	if len(named) != 1 || !strings.HasPrefix(diffID, named[0]) && !strings.HasPrefix(blob, named[0]) {
		t.Errorf("the pull of sibling should say that its base layer (diff ID %s, blob %s), and no other, is already present:\nstdout:\n%s\nstderr:\n%s",
			diffID, blob, res.stdout, res.stderr)
	}
}

// checkNewLayers checks that the store gained exactly the layers of want
// it did not hold before.
func checkNewLayers(t *testing.T, what string, before, after map[string]bool, want []string) {
	t.Helper()
	var missing []string
	added := 0
	for _, id := range want {
		if !after[id] {
			missing = append(missing, id)
		}
		if !before[id] {
			added++
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s: layers %v are not in the store", what, missing)
	}
	if got := len(after) - len(before); got != added {
		t.Errorf("%s: the store has %d new layer directories, want %d (layers %v, %d of them new)", what, got, added, want, added)
	}
}
