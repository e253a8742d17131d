package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// TestPushReadByOtherTools pushes an image of dockah's store to a plain
// HTTP registry, once to a destination given on the command line and once
// under its own fully qualified name, and reads it back with skopeo and
// podman: the manifest digest is the one dockah push printed, the config
// digest is dockah's image ID, and podman's image ID is the same.
func TestPushReadByOtherTools(t *testing.T) {
	b := box.Shared(t)
	r := Start(t, Options{})
	local := fmt.Sprintf("push-%d:test", time.Now().UnixNano())
	images.Import(t, b, local, append(images.Busybox(t, "sh"), marker(t)), "--entrypoint", "/bin/busybox")
	removeImage(t, b, local)
	id := imageID(t, b, local)

	cases := []struct {
		name, repoTag string
		args          func(dest string) []string
	}{
		{"IMAGE DEST", "out/img:1", func(dest string) []string { return []string{local, dest} }},
		{"qualified IMAGE", "out/img:2", func(dest string) []string {
			dockah(t, b, "image", "tag", local, dest)
			removeImage(t, b, dest)
			return []string{dest}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dest := r.Ref(c.repoTag)
			args := append([]string{"push", "--tls-verify=false"}, c.args(dest)...)
			digest := printedDigest(t, "dockah push", dockah(t, b, args...))
			var info struct{ Digest string }
			if err := json.Unmarshal(r.Inspect(t, c.repoTag), &info); err != nil {
				t.Fatal(err)
			}
			if info.Digest != digest {
				t.Errorf("skopeo inspect %s: digest %s, dockah push printed %s", dest, info.Digest, digest)
			}
			if got := manifestConfig(t, r, c.repoTag); got != id {
				t.Errorf("the pushed manifest names config %s, dockah's image ID is %s", got, id)
			}
			sum := sha256.Sum256(r.Inspect(t, c.repoTag, "--config", "--raw"))
			if got := "sha256:" + hex.EncodeToString(sum[:]); got != id {
				t.Errorf("the pushed config hashes to %s, dockah's image ID is %s", got, id)
			}
			dir := podmanDir(t)
			podman(t, dir, "pull", "--quiet", "--tls-verify=false", dest)
			podmanID := strings.TrimSpace(podman(t, dir, "image", "inspect", "--format", "{{.Id}}", dest))
			if podmanID != strings.TrimPrefix(id, "sha256:") {
				t.Errorf("podman image inspect %s: Id %s, dockah's image ID is %s", dest, podmanID, id)
			}
		})
	}
}
