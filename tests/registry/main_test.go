package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// Ports 18900-18999 belong to this package (the registries themselves
// take free ephemeral ports).
const (
	helloAddr   = "127.0.0.1:18900"
	missingAddr = "127.0.0.1:18901"
)

// pullTimeout bounds one dockah pull or push in the box.
const pullTimeout = 3 * time.Minute

// result is what a command run in the box did.
type result struct {
	stdout, stderr string
	status         int
}

// output is the command's whole output, for failure messages.
func (r result) output() string { return r.stdout + r.stderr }

// run runs a command in the box with stdin as its standard input and
// returns its output and exit status; it fails the test only when the
// command cannot be run at all.
func run(t *testing.T, b *box.Box, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pullTimeout)
	defer cancel()
	cmd := b.Command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), status: cmd.ProcessState.ExitCode()}
}

// dockah runs the CLI in the box and fails the test unless it succeeds.
func dockah(t *testing.T, b *box.Box, args ...string) result {
	t.Helper()
	r := run(t, b, "", append([]string{"dockah"}, args...)...)
	if r.status != 0 {
		t.Fatalf("dockah %s: exit status %d\n%s", strings.Join(args, " "), r.status, r.output())
	}
	return r
}

// dockahFails runs the CLI in the box and fails the test unless it fails
// with an error matching want (a case-insensitive regular expression) on
// standard error.
func dockahFails(t *testing.T, b *box.Box, want string, args ...string) result {
	t.Helper()
	r := run(t, b, "", append([]string{"dockah"}, args...)...)
	if r.status == 0 {
		t.Fatalf("dockah %s succeeded, want a failure matching %q\n%s", strings.Join(args, " "), want, r.output())
	}
	if !matches(want, r.stderr) {
		t.Errorf("dockah %s: stderr does not match %q:\n%s", strings.Join(args, " "), want, r.stderr)
	}
	return r
}

// matches reports whether s matches the case-insensitive regular
// expression re.
func matches(re, s string) bool { return regexp.MustCompile("(?i)" + re).MatchString(s) }

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// digestRE matches what pull and push print last: a sha256 digest.
var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// printedDigest returns the digest a pull or push printed as the last
// line of its standard output, and fails the test if there is none.
func printedDigest(t *testing.T, what string, r result) string {
	t.Helper()
	d := lastLine(r.stdout)
	if !digestRE.MatchString(d) {
		t.Fatalf("%s: last line of stdout %q is no sha256 digest\nstdout:\n%s\nstderr:\n%s", what, d, r.stdout, r.stderr)
	}
	return d
}

// imageID returns the ID of an image in the box's store, from dockah
// image inspect.
func imageID(t *testing.T, b *box.Box, ref string) string {
	t.Helper()
	var out []struct {
		ID string `json:"id"`
	}
	r := dockah(t, b, "image", "inspect", ref)
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("dockah image inspect %s: %v\n%s", ref, err, r.stdout)
	}
	return out[0].ID
}

// removeImage removes ref from the box's store when the test ends.
func removeImage(t *testing.T, b *box.Box, ref string) {
	t.Cleanup(func() { _, _ = b.Run("dockah", "image", "rm", "--force", ref) })
}

// listed reports whether dockah image ls shows name (fully qualified)
// with tag.
func listed(t *testing.T, b *box.Box, name, tag string) bool {
	t.Helper()
	for _, line := range strings.Split(dockah(t, b, "image", "ls").stdout, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == name && f[1] == tag {
			return true
		}
	}
	return false
}

// storeLayers returns the diff IDs (hex) of the layers in the box's
// store: the directories under layers/sha256.
func storeLayers(t *testing.T, b *box.Box) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(b.StoreDir(), "layers", "sha256"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			found[e.Name()] = true
		}
	}
	return found
}

// remoteConfig is the part of an image config the tests read.
type remoteConfig struct {
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// remoteManifest is the part of an image manifest the tests read.
type remoteManifest struct {
	Config struct {
		Digest string `json:"digest"`
	} `json:"config"`
	Layers []struct {
		Digest string `json:"digest"`
	} `json:"layers"`
}

// manifest returns the manifest of repoTag on a registry.
func manifest(t *testing.T, r *Registry, repoTag string) remoteManifest {
	t.Helper()
	var m remoteManifest
	raw := r.Inspect(t, repoTag, "--raw")
	if err := json.Unmarshal(raw, &m); err != nil || m.Config.Digest == "" {
		t.Fatalf("manifest of %s: %v\n%s", repoTag, err, raw)
	}
	return m
}

// manifestConfig returns the config digest a registry's manifest of
// repoTag names: the image ID.
func manifestConfig(t *testing.T, r *Registry, repoTag string) string {
	t.Helper()
	return manifest(t, r, repoTag).Config.Digest
}

// diffIDs returns the layers' diff IDs (hex) of repoTag on a registry.
func diffIDs(t *testing.T, r *Registry, repoTag string) []string {
	t.Helper()
	var c remoteConfig
	raw := r.Inspect(t, repoTag, "--config", "--raw")
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("config of %s: %v\n%s", repoTag, err, raw)
	}
	var ids []string
	for _, d := range c.RootFS.DiffIDs {
		ids = append(ids, strings.TrimPrefix(d, "sha256:"))
	}
	return ids
}

// layout is an OCI image layout on the host, written by umoci.
type layout struct {
	t   *testing.T
	dir string
}

// newLayout makes an empty OCI image layout with umoci.
func newLayout(t *testing.T) *layout {
	t.Helper()
	l := &layout{t: t, dir: filepath.Join(t.TempDir(), "oci")}
	Tool(t, "umoci", "init", "--layout", l.dir)
	return l
}

// src is the skopeo name of tag in the layout.
func (l *layout) src(tag string) string { return "oci:" + l.dir + ":" + tag }

// build makes tag: the image from ("" for a new, empty one) with one more
// layer per list of entries, each a tar written by tests/images and added
// by "umoci raw add-layer" (which compresses it with gzip).
func (l *layout) build(tag, from string, layers ...[]images.Entry) {
	l.t.Helper()
	if from == "" {
		Tool(l.t, "umoci", "new", "--image", l.dir+":"+tag)
		from = tag
	}
	for i, entries := range layers {
		tar := filepath.Join(l.t.TempDir(), "layer.tar")
		if err := images.WriteTar(tar, entries); err != nil {
			l.t.Fatalf("layer %d of %s: %v", i, tag, err)
		}
		Tool(l.t, "umoci", "raw", "add-layer", "--image", l.dir+":"+from, "--tag", tag, tar)
		from = tag
	}
}

// config sets config flags of tag ("--config.entrypoint", "/hello").
func (l *layout) config(tag string, flags ...string) {
	l.t.Helper()
	Tool(l.t, "umoci", append([]string{"config", "--image", l.dir + ":" + tag}, flags...)...)
}

// marker is an entry whose content is unique to this run of the test, so
// that a layer holding it is new to the store.
func marker(t *testing.T) images.Entry {
	return images.Entry{Name: "etc/dockah-test-run", Data: []byte(t.Name() + " " + time.Now().Format(time.RFC3339Nano) + "\n"), Mode: 0o644}
}
