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

// TestRoundTripNetwork: docs/kube.md's shop, two definitions on one
// network, to a Deployment and back: the containers are on a network
// named after the Pod, known by their names, and keep what Kubernetes has
// no field for.
func TestRoundTripNetwork(t *testing.T) {
	web := mustParse(t, "web", `[container]
image = "dockah/nginx:latest"
network = "shop"
read_only = true
[[socket]]
listen = "127.0.0.1:8081"
port = 80
name = "http"
[[tmpfs]]
target = "/run"
size = "1M"
[resources]
memory_max = "256M"
tasks_max = 64
[service]
restart = "on-failure"
idle_timeout = "10min"
`)
	cache := mustParse(t, "cache", "[container]\nimage = \"dockah/memcached:latest\"\nnetwork = \"shop\"\nread_only = true\n")
	out, _, err := Generate([]*unitgen.Definition{web, cache}, Options{Type: TypeDeployment, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	validateK8s(t, out)
	objs, _, err := Parse("shop.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Play(objs, testPlayOptions)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Networks) != 1 || plan.Networks[0].Name != "shop" || len(plan.Containers) != 2 {
		t.Fatalf("networks %v, %d containers", plan.Networks, len(plan.Containers))
	}
	got := map[string]*unitgen.Definition{}
	for _, c := range plan.Containers {
		got[c.Name] = c.Def
	}
	w, c := got["shop-web"], got["shop-cache"]
	if w == nil || c == nil {
		t.Fatalf("containers %v", slices.Sorted(maps.Keys(got)))
	}
	if w.Container.Network != "shop" || !slices.Contains(w.Container.Aliases, "web") || !slices.Contains(c.Container.Aliases, "cache") {
		t.Errorf("network %q, aliases %v and %v", w.Container.Network, w.Container.Aliases, c.Container.Aliases)
	}
	want := normalize(t, web)
	want.Container.Aliases = []string{"web"}
	if diff := cmp.Diff(want, normalize(t, w), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("web changed on the round trip (-before +after):\n%s", diff)
	}
	// A Deployment restarts always: restart comes back from its annotation.
	if c.Service.Restart != "" && c.Service.Restart != "no" {
		t.Errorf("cache's restart: %q", c.Service.Restart)
	}
}
