// Package autoupdate tests dockah auto-update in a systemd box: the local
// and registry policies, --dry-run, the rollback of a container whose new
// image does not come up, the timer's units; and image which's view of
// the containers across an update. The registry is Debian's
// docker-registry, run by tests/registry on 127.0.0.1.
package autoupdate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
	"github.com/dockah/dockah/tests/registry"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// version is an image that runs for a long time and says which it is in
// /version; a broken one's entrypoint does not exist.
func version(t *testing.T, b *box.Box, ref, v string, broken bool) {
	t.Helper()
	entries := append(images.Busybox(t, "sleep"), images.Entry{Name: "version", Data: []byte(v + "\n"), Mode: 0o644})
	entrypoint := `["/bin/sleep", "3600"]`
	if broken {
		entrypoint = `["/bin/not-there"]`
	}
	images.Import(t, b, ref, entries, "--entrypoint", entrypoint)
}

// define writes the definition of the container name, reloads systemd
// and, when the test ends, stops it and removes it.
func define(t *testing.T, b *box.Box, name, text string) {
	t.Helper()
	path := "/etc/dockah/containers/" + name + ".toml"
	if err := b.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			journal, _ := b.Journal(name + ".service")
			t.Logf("journal of %s.service:\n%s", name, journal)
		}
		_, _ = b.Systemctl("stop", name+".service", "dockah-pull@"+name+".service")
		_ = os.Remove(b.Path(path))
		_, _ = b.Systemctl("daemon-reload")
		_, _ = b.Systemctl("reset-failed", name+".service")
	})
}

func start(t *testing.T, b *box.Box, name string) {
	t.Helper()
	if out, err := b.Systemctl("start", name+".service"); err != nil {
		journal, _ := b.Journal(name + ".service")
		t.Fatalf("start %s: %v\n%s\n%s", name, err, out, journal)
	}
	if err := b.WaitUnitState(name+".service", 30*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
}

// autoUpdate runs dockah auto-update --format json with args and returns
// the result of the container name.
func autoUpdate(t *testing.T, b *box.Box, name string, args ...string) map[string]string {
	t.Helper()
	r := b.Exec(t, "", append([]string{"dockah", "auto-update", "--format", "json", "--grace", "3s"}, args...)...)
	var results []map[string]string
	if err := json.Unmarshal([]byte(r.Stdout), &results); err != nil {
		t.Fatalf("auto-update %v: exit status %d, %v\n%s\n%s", args, r.Status, err, r.Stdout, r.Stderr)
	}
	for _, res := range results {
		if res["container"] == name {
			return res
		}
	}
	t.Fatalf("auto-update %v: no result for %s\n%s\n%s", args, name, r.Stdout, r.Stderr)
	return nil
}

// imageID is the ID the store gives ref.
func imageID(t *testing.T, b *box.Box, ref string) string {
	t.Helper()
	out := b.Dockah(t, "image", "inspect", ref)
	var img []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &img); err != nil || len(img) != 1 {
		t.Fatalf("image inspect %s: %v\n%s", ref, err, out)
	}
	return img[0].ID
}

// runsOn is the image the container's writable layer was made on.
func runsOn(t *testing.T, b *box.Box, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.StoreDir(), "containers", name, "image"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func mainPID(t *testing.T, b *box.Box, name string) string {
	t.Helper()
	pid, err := b.Property(name+".service", "MainPID")
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestLocal: a container of auto_update = "local" moves to the image its
// name points to after an import; --dry-run changes nothing; a new image
// whose entrypoint fails is rolled back and the journal says so; a
// container that does not run is not started.
func TestLocal(t *testing.T) {
	b := box.Shared(t)
	const name, ref = "autolocal", "localhost/autolocal:latest"
	version(t, b, ref, "1", false)
	v1 := imageID(t, b, ref)
	define(t, b, name, "[container]\nimage = \""+ref+"\"\nauto_update = \"local\"\npull = \"never\"\n")
	start(t, b, name)
	if r := autoUpdate(t, b, name); r["action"] != "unchanged" {
		t.Errorf("nothing new: %v", r)
	}

	version(t, b, ref, "2", false)
	v2 := imageID(t, b, ref)
	pid := mainPID(t, b, name)
	if r := autoUpdate(t, b, name, "--dry-run"); r["action"] != "would-update" || r["from"] != v1 || r["to"] != v2 {
		t.Errorf("dry run: %v", r)
	}
	if runsOn(t, b, name) != v1 || mainPID(t, b, name) != pid {
		t.Error("the dry run restarted the container")
	}

	if r := autoUpdate(t, b, name); r["action"] != "updated" || r["to"] != v2 {
		t.Errorf("update: %v", r)
	}
	if runsOn(t, b, name) != v2 {
		t.Errorf("runs on %s, want %s", runsOn(t, b, name), v2)
	}
	if state, _ := b.Property(name+".service", "ActiveState"); state != "active" {
		t.Errorf("after the update: %s", state)
	}

	version(t, b, ref, "3", true)
	v3 := imageID(t, b, ref)
	r := autoUpdate(t, b, name)
	if r["action"] != "rolled-back" || r["to"] != v3 || r["from"] != v2 {
		t.Errorf("a broken image: %v", r)
	}
	if got := imageID(t, b, ref); got != v2 {
		t.Errorf("after the rollback %s is %s, want %s", ref, got, v2)
	}
	if err := b.WaitUnitState(name+".service", 10*time.Second, "active"); err != nil {
		t.Error(err)
	}
	if runsOn(t, b, name) != v2 {
		t.Errorf("after the rollback it runs on %s, want %s", runsOn(t, b, name), v2)
	}
	journal, _ := b.Run("journalctl", "--no-pager", "-o", "cat", "-t", "dockah-auto-update")
	if !strings.Contains(journal, "rolled back") {
		t.Errorf("the journal says nothing of the rollback:\n%s", journal)
	}

	if _, err := b.Systemctl("stop", name+".service"); err != nil {
		t.Fatal(err)
	}
	version(t, b, ref, "4", false)
	v4 := imageID(t, b, ref)
	if r := autoUpdate(t, b, name); r["action"] != "pending" || r["to"] != v4 {
		t.Errorf("a stopped container: %v", r)
	}
	if state, _ := b.Property(name+".service", "ActiveState"); state == "active" {
		t.Error("auto-update started a stopped container")
	}
}

// TestRegistry: a container of auto_update = "registry" is moved to the
// image its registry now has under its name; --dry-run asks the registry
// and pulls nothing.
func TestRegistry(t *testing.T) {
	b := box.Shared(t)
	reg := registry.Start(t, registry.Options{})
	reg.InsecureConf(t, b)
	ref := reg.Ref("auto/app:latest")
	const name = "autoreg"
	push := func(v string) string {
		t.Helper()
		src := "localhost/autoreg-src:" + v
		version(t, b, src, v, false)
		b.Dockah(t, "-q", "push", src, ref)
		return imageID(t, b, src)
	}
	v1 := push("1")
	define(t, b, name, "[container]\nimage = \""+ref+"\"\nauto_update = \"registry\"\n")
	start(t, b, name)
	if runsOn(t, b, name) != v1 {
		t.Fatalf("first start on %s, want %s", runsOn(t, b, name), v1)
	}
	if r := autoUpdate(t, b, name); r["action"] != "unchanged" {
		t.Errorf("the registry has nothing new: %v", r)
	}

	v2 := push("2")
	if r := autoUpdate(t, b, name, "--dry-run"); r["action"] != "would-update" {
		t.Errorf("dry run: %v", r)
	}
	if got := imageID(t, b, ref); got != v1 {
		t.Errorf("the dry run pulled: %s is %s", ref, got)
	}
	if r := autoUpdate(t, b, name); r["action"] != "updated" || r["to"] != v2 {
		t.Errorf("update: %v", r)
	}
	if runsOn(t, b, name) != v2 || imageID(t, b, ref) != v2 {
		t.Errorf("runs on %s, %s is %s; want %s", runsOn(t, b, name), ref, imageID(t, b, ref), v2)
	}
}

// TestTimerUnits: make install puts the timer and its service in place,
// the timer is not enabled, and the service runs dockah auto-update (the
// local policy's update, here) and logs to its journal.
func TestTimerUnits(t *testing.T) {
	b := box.Shared(t)
	if state, _ := b.Systemctl("is-enabled", "dockah-auto-update.timer"); strings.TrimSpace(state) != "disabled" {
		t.Errorf("the timer is %q, want disabled", strings.TrimSpace(state))
	}
	if out, err := b.Run("systemd-analyze", "verify", "--man=no", "/usr/lib/systemd/system/dockah-auto-update.timer", "/usr/lib/systemd/system/dockah-auto-update.service"); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	const name, ref = "autotimer", "localhost/autotimer:latest"
	version(t, b, ref, "1", false)
	define(t, b, name, "[container]\nimage = \""+ref+"\"\nauto_update = \"local\"\npull = \"never\"\n")
	start(t, b, name)
	version(t, b, ref, "2", false)
	v2 := imageID(t, b, ref)
	if out, err := b.Systemctl("start", "dockah-auto-update.service"); err != nil {
		journal, _ := b.Journal("dockah-auto-update.service")
		t.Fatalf("start dockah-auto-update.service: %v\n%s\n%s", err, out, journal)
	}
	if runsOn(t, b, name) != v2 {
		t.Errorf("after the service ran, %s runs on %s, want %s", name, runsOn(t, b, name), v2)
	}
	if _, err := b.WaitJournal("dockah-auto-update.service", "container "+name+": restarted on image "+v2, 10*time.Second); err != nil {
		t.Error(err)
	}
}

// TestWhichAcrossAnUpdate: image which names the containers that use
// each image with their state from systemd: before a restart, the running
// container under the old image and its definition under the new one.
func TestWhichAcrossAnUpdate(t *testing.T) {
	b := box.Shared(t)
	const name, ref, module = "whichapp", "localhost/whichapp:latest", "github.com/coreos/go-systemd/v22"
	hello := images.Build(t, "./contrib/hello", b.Path("/opt/whichapp"))
	importHello := func(v string) string {
		t.Helper()
		images.Import(t, b, ref, []images.Entry{{Name: "hello", Source: hello}, {Name: "version", Data: []byte(v), Mode: 0o644}}, "--entrypoint", "/hello")
		return imageID(t, b, ref)
	}
	v1 := importHello("1")
	define(t, b, name, "[container]\nimage = \""+ref+"\"\npull = \"never\"\n")
	start(t, b, name)
	v2 := importHello("2")

	out := b.Dockah(t, "image", "which", module, "--format", "json")
	var found []struct {
		Image      string
		Containers []struct {
			Name             string
			Defined, Started bool
			State            string
		}
	}
	if err := json.Unmarshal([]byte(out), &found); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	users := map[string]string{}
	for _, f := range found {
		for _, c := range f.Containers {
			if c.Name == name {
				users[f.Image] = fmt.Sprintf("defined=%v started=%v state=%s", c.Defined, c.Started, c.State)
			}
		}
	}
	want := map[string]string{
		v1: "defined=false started=true state=active",
		v2: "defined=true started=false state=active",
	}
	for id, w := range want {
		if users[id] != w {
			t.Errorf("image %s: %s uses it as %q, want %q\n%s", id, name, users[id], w, out)
		}
	}
	table := b.Dockah(t, "image", "which", module)
	if !strings.Contains(table, name+" (running)") || !strings.Contains(table, name+" (defined)") {
		t.Errorf("the table does not say which image runs and which is defined:\n%s", table)
	}
}
