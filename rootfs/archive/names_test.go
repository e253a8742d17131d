package archive

import (
	"slices"
	"strings"
	"testing"

	"github.com/dockah/dockah/rootfs/internal/fixture"
)

// TestNamesFromEverySource checks the one name rule on every way in: a
// docker-archive's RepoTags are Docker's names (acceptance/tools is
// docker.io's), an OCI layout's bare ref.name and --name and tag are
// local (localhost/), and a full name stays as it is. Each image is then
// found by the names users write, and the short name that means two
// images is refused with both listed.
func TestNamesFromEverySource(t *testing.T) {
	layer := fixture.Tar(fixture.Base()...)
	st := newStore(t)
	docker := fixture.NewImage([]string{"acceptance/tools:latest", "docker.io/library/tools:1"}, nil, layer)
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(docker), true), ImportOptions{})
	oci := fixture.NewImage([]string{"tools"}, fixture.Gzip, layer, fixture.Tar(fixture.App()...))
	mustImport(t, st, writeArchive(t, fixture.OCILayout(oci), false), ImportOptions{})
	full := fixture.NewImage([]string{"quay.io/acme/tools:3"}, nil, fixture.Tar(fixture.Top()...))
	mustImport(t, st, writeArchive(t, fixture.OCILayout(full), true), ImportOptions{})
	named := fixture.NewImage(nil, nil, fixture.Tar(fixture.App()...))
	mustImport(t, st, writeArchive(t, fixture.DockerArchive(named), true), ImportOptions{Name: "mine:1"})
	if err := st.Tag("mine:1", "alias/mine:2"); err != nil {
		t.Fatal(err)
	}

	list, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, s := range list {
		for _, n := range s.Names {
			stored = append(stored, n.String())
		}
	}
	slices.Sort(stored)
	want := []string{"docker.io/acceptance/tools:latest", "docker.io/library/tools:1", "localhost/alias/mine:2",
		"localhost/mine:1", "localhost/tools:latest", "quay.io/acme/tools:3"}
	if !slices.Equal(stored, want) {
		t.Errorf("stored names:\n got %q\nwant %q", stored, want)
	}
	for ref, id := range map[string]string{
		"acceptance/tools": docker.ID(), "docker.io/acceptance/tools:latest": docker.ID(),
		"tools:1": docker.ID(), "localhost/tools": oci.ID(), "quay.io/acme/tools:3": full.ID(),
		"mine:1": named.ID(), "localhost/mine:1": named.ID(), "alias/mine:2": named.ID(),
	} {
		img, err := st.Resolve(ref)
		if err != nil || img.ID != id {
			t.Errorf("Resolve(%q) = %v, %v; want %s", ref, img, err, id)
		}
	}
	// tools:latest could be docker.io/library/tools or localhost/tools;
	// only the second is stored, so it is not ambiguous...
	if img, err := st.Resolve("tools"); err != nil || img.ID != oci.ID() {
		t.Errorf("Resolve(tools) = %v, %v", img, err)
	}
	// ...until docker.io has one too.
	if err := st.Tag("tools:1", "docker.io/library/tools:latest"); err != nil {
		t.Fatal(err)
	}
	_, err = st.Resolve("tools")
	if err == nil || !strings.Contains(err.Error(), "docker.io/library/tools:latest, localhost/tools:latest") {
		t.Errorf("Resolve(tools) with two candidates = %v, want an error listing both", err)
	}
	if _, err := st.Resolve("docker.io/library/tools"); err != nil {
		t.Errorf("the full name still resolves: %v", err)
	}
	if _, err := st.Resolve("nosuch"); err == nil || !strings.Contains(err.Error(), "looked for docker.io/library/nosuch:latest, localhost/nosuch:latest") {
		t.Errorf("a missing short name should say where it looked: %v", err)
	}
}
