package archive

import (
	"encoding/json"
	"testing"

	"github.com/dockah/dockah/rootfs/internal/fixture"
)

// FuzzParseDocuments feeds hostile manifest.json and index.json documents
// to their parsers: they return an error or something whose digests and
// names are safe to use.
func FuzzParseDocuments(f *testing.F) {
	a, b := twoImages(nil)
	f.Add(fixture.DockerArchive(a, b)["manifest.json"])
	f.Add(fixture.OCILayout(a, b)["index.json"])
	f.Add([]byte(`[{"Config":"../../etc/passwd","RepoTags":["a:b"],"Layers":["/etc/shadow"]}]`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:../../x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if entries, err := parseDockerManifest(data); err == nil {
			for _, e := range entries {
				if e.Config == "" {
					t.Fatal("entry without config accepted")
				}
				cleanMember(e.Config) // never panics, never leaves the archive
			}
		}
		if idx, err := parseIndex(data); err == nil {
			for _, d := range idx.Manifests {
				if _, err := blobName(d.Digest.String()); err != nil {
					t.Fatalf("unsafe digest %q accepted", d.Digest)
				}
			}
			if _, err := json.Marshal(idx); err != nil {
				t.Fatal(err)
			}
		}
	})
}
