package cliverbs

import (
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// dfSummary is a line of dockah system df --format json.
type dfSummary struct {
	Total       int   `json:"total"`
	Active      int   `json:"active"`
	Size        int64 `json:"size"`
	Reclaimable int64 `json:"reclaimable"`
}

type dfJSON struct {
	Images struct {
		dfSummary
		Items []struct {
			ID     string   `json:"id"`
			UsedBy []string `json:"usedBy"`
		} `json:"items"`
	} `json:"images"`
	Containers struct {
		dfSummary
		Items []struct {
			Name        string `json:"name"`
			Reclaimable bool   `json:"reclaimable"`
		} `json:"items"`
	} `json:"containers"`
	Volumes struct {
		dfSummary
		Items []struct {
			Name   string   `json:"name"`
			Size   int64    `json:"size"`
			UsedBy []string `json:"usedBy"`
		} `json:"items"`
	} `json:"volumes"`
}

// filler is an image of one file of n bytes, different for each name.
func filler(name string, n int) []images.Entry {
	data := []byte(strings.Repeat("x", n-len(name)) + name)
	return []images.Entry{{Name: "fill", Data: data, Mode: 0o644}}
}

// storeImages returns the IDs of the images and the sizes of their
// layers, each layer once, as image ls and image inspect report them.
func storeImages(t *testing.T, b *box.Box) (ids []string, layers map[string]int64) {
	t.Helper()
	var list []struct {
		ID string `json:"id"`
	}
	dockahJSON(t, b, &list, "image", "ls", "--format", "json")
	layers = map[string]int64{}
	for _, img := range list {
		ids = append(ids, img.ID)
		var in []struct {
			Layers []struct {
				DiffID string `json:"diffID"`
				Size   int64  `json:"size"`
			} `json:"layers"`
		}
		dockahJSON(t, b, &in, "image", "inspect", img.ID)
		for _, l := range in[0].Layers {
			layers[l.DiffID] = l.Size
		}
	}
	return ids, layers
}

func TestSystemDf(t *testing.T) {
	b := cvBox(t)
	images.Import(t, b, "df:1", filler("df:1", 100000))
	start(t, b, "busy") // makes its writable layer and the volume cvdata
	stop(t, b, "busy")

	ids, layers := storeImages(t, b)
	var size int64
	for _, n := range layers {
		size += n
	}
	var du dfJSON
	dockahJSON(t, b, &du, "system", "df", "--format", "json")
	if du.Images.Total != len(ids) || du.Images.Size != size {
		t.Errorf("images: %+v; image ls has %d, their layers %d bytes", du.Images.dfSummary, len(ids), size)
	}
	// cv:test is used by the definitions; df:1's one file is what
	// removing the unused images would free.
	if du.Images.Active != len(ids)-1 || du.Images.Reclaimable != 100000 {
		t.Errorf("images: %+v, want all but df:1 active and its 100000 bytes reclaimable", du.Images.dfSummary)
	}
	layersDir, err := b.Run("ls", "/var/lib/dockah/containers")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(layersDir)); du.Containers.Total != n || du.Containers.Size <= 0 {
		t.Errorf("containers: %+v; the store has %d writable layers", du.Containers.dfSummary, n)
	}
	var cvdata int64 = -1
	for _, v := range du.Volumes.Items {
		if v.Name == "cvdata" && strings.Join(v.UsedBy, ",") == "definition busy" {
			cvdata = v.Size
		}
	}
	if cvdata != int64(len("data\n")) || du.Volumes.Active < 1 {
		t.Errorf("volumes: %+v (cvdata holds %d bytes, want 5, used by busy)", du.Volumes, cvdata)
	}

	table := b.Dockah(t, "system", "df")
	t.Logf("dockah system df:\n%s", table)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "TYPE TOTAL ACTIVE SIZE RECLAIMABLE" ||
		!strings.HasPrefix(lines[1], "Images ") || !strings.Contains(lines[1], "100kB (") || !strings.HasPrefix(lines[3], "Local Volumes ") {
		t.Errorf("system df:\n%s", table)
	}
	verbose := b.Dockah(t, "system", "df", "-v")
	for _, want := range []string{"Images space usage:", "localhost/df:1", "Containers space usage:", "/etc/dockah/containers/busy.toml", "Local Volumes space usage:", "cvdata"} {
		if !strings.Contains(verbose, want) {
			t.Errorf("system df -v lacks %q:\n%s", want, verbose)
		}
	}
}

// TestSystemPrune removes what nothing uses, and nothing else: a
// dangling image, then with -a an unused named one; the writable layer
// of a container whose definition was deleted; with --volumes the volume
// only that definition named. The running container, its image and its
// volume stay.
func TestSystemPrune(t *testing.T) {
	b := cvBox(t)
	start(t, b, "busy")
	defer stop(t, b, "busy")
	images.Import(t, b, "unused:1", filler("unused:1", 3000))
	images.Import(t, b, "dangle:1", filler("dangle:1", 2000))
	var before []struct {
		ID string `json:"id"`
	}
	dockahJSON(t, b, &before, "image", "inspect", "dangle:1")
	images.Import(t, b, "dangle:1", filler("dangle:1", 1000)) // the name moves: the first image dangles
	gone := "[container]\nimage = \"cv:test\"\nentrypoint = [\"/bin/true\"]\n\n[[volume]]\nsource = \"gonevol\"\ntarget = \"/v\"\n"
	if err := b.WriteFile("/etc/dockah/containers/gone.toml", []byte(gone), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	b.Dockah(t, "start", "gone") // runs /bin/true and ends
	if _, err := b.Run("rm", "/etc/dockah/containers/gone.toml"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	_, _ = b.Systemctl("reset-failed", "gone.service")

	// Without a yes, nothing goes.
	if r := b.Exec(t, "n\n", "dockah", "system", "prune"); r.Status != 1 || !strings.Contains(r.Stderr, "WARNING! This command removes:") {
		t.Errorf("prune answered no: status %d\n%s", r.Status, r.Stderr)
	}
	if r := b.Exec(t, "", "dockah", "image", "inspect", before[0].ID); r.Status != 0 {
		t.Fatalf("the dangling image went without a yes")
	}

	out := b.Dockah(t, "system", "prune", "-f")
	want := "Deleted Containers\ngone\nDeleted Images\n" + before[0].ID + "\n"
	if !strings.HasPrefix(out, want) || !strings.Contains(out, "Total reclaimed space: ") || strings.Contains(out, "Deleted Volumes") {
		t.Errorf("system prune -f printed\n%s\nwant it to start with\n%s", out, want)
	}
	for _, ref := range []string{"unused:1", "dangle:1", "cv:test"} {
		if r := b.Exec(t, "", "dockah", "image", "inspect", ref); r.Status != 0 {
			t.Errorf("%s went without -a: %s", ref, r.Stderr)
		}
	}

	out = b.Dockah(t, "system", "prune", "-a", "--volumes", "-f")
	t.Logf("dockah system prune -a --volumes -f:\n%s", out)
	if !strings.Contains(out, "Deleted Images\n") || !strings.Contains(out, "Deleted Volumes\ngonevol\n") || strings.Contains(out, "cvdata") {
		t.Errorf("system prune -a --volumes -f printed\n%s", out)
	}
	for ref, kept := range map[string]bool{"unused:1": false, "dangle:1": false, "cv:test": true} {
		if r := b.Exec(t, "", "dockah", "image", "inspect", ref); (r.Status == 0) != kept {
			t.Errorf("%s: kept %v, want %v", ref, r.Status == 0, kept)
		}
	}
	var du dfJSON
	dockahJSON(t, b, &du, "system", "df", "--format", "json")
	if du.Images.Reclaimable != 0 || du.Containers.Reclaimable != 0 || du.Volumes.Reclaimable != 0 || du.Volumes.Total < 1 {
		t.Errorf("after prune -a --volumes: %+v %+v %+v", du.Images.dfSummary, du.Containers.dfSummary, du.Volumes.dfSummary)
	}
	if active, _ := b.Property("busy.service", "ActiveState"); active != "active" {
		t.Errorf("busy is %s after the prunes", active)
	}
}
