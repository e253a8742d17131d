package kube

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dockah/dockah/unitgen"
)

// normalize clears what a trip through Kubernetes changes by design:
// the file, the labels play adds, the image's spelling (now qualified),
// and the host name (the Pod's name, which was the container's).
func normalize(t *testing.T, d *unitgen.Definition) unitgen.Definition {
	t.Helper()
	n := *d
	n.SourcePath, n.DropIns, n.Name, n.Instance = "", nil, "", ""
	n.Container.Labels = nil
	img, err := qualifiedImage(d.Container.Image)
	if err != nil {
		t.Fatal(err)
	}
	n.Container.Image = img
	n.Container.Hostname = ""
	n.Service.DefaultInstance = ""
	n.Sockets = slices.Clone(d.Sockets)
	for i, s := range n.Sockets {
		if s.Name == "" || s.Name == d.Prefix() {
			// The default: the container's name, which changes for
			// an instance (postgres@main is the Pod postgres-main).
			n.Sockets[i].Name = ""
		}
	}
	return n
}

// TestRoundTrip: a definition made YAML and played back is the same
// definition, for every contrib definition: nothing is lost on the way
// (what Kubernetes has no field for travels in annotations).
func TestRoundTrip(t *testing.T) {
	defs := contribDefinitions(t)
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		def := defs[name]
		t.Run(name, func(t *testing.T) {
			out, _, err := Generate([]*unitgen.Definition{def}, Options{Service: true})
			if err != nil {
				t.Fatal(err)
			}
			objs, _, err := Parse(name+".yaml", out)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := Play(objs, testPlayOptions)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Containers) != 1 {
				t.Fatalf("%d containers", len(plan.Containers))
			}
			got := plan.Containers[0].Def
			if diff := cmp.Diff(normalize(t, def), normalize(t, got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("definition changed on the round trip (-before +after):\n%s\n%s\n%s", diff, out, plan.Containers[0].Data)
			}
		})
	}
}
