package container

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

const planAddr = "127.0.0.1:18020"

// planMargin is more than the shim's: a plan is stored only once every
// file it depends on is two seconds old.
const planMargin = 2500 * time.Millisecond

// traced makes the shim of unit write its steps to the journal.
func traced(t *testing.T, b *box.Box, unit string) {
	t.Helper()
	if err := b.WriteFile("/etc/systemd/system/"+unit+".d/trace.conf", []byte("[Service]\nEnvironment=DOCKAH_TRACE=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fresh forgets what an earlier run of a test left of container name:
// its drop-ins and its start plan.
func fresh(t *testing.T, b *box.Box, name string) {
	t.Helper()
	for _, p := range []string{b.Path("/etc/dockah/containers/" + name + ".toml.d"), filepath.Join(b.StoreDir(), "plans", name)} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
}

// planNote returns what the shim of the unit's last start said of its
// plan: "plan loaded", or "no plan: WHY".
func planNote(t *testing.T, b *box.Box, unit string, since time.Time) string {
	t.Helper()
	var note string
	box.Eventually(10*time.Second, func() bool {
		out, err := b.Run("journalctl", "--no-pager", "-o", "cat", "-u", unit, "--since", since.Format("2006-01-02 15:04:05.000000"))
		if err != nil {
			return false
		}
		for _, line := range strings.Split(out, "\n") {
			if _, n, ok := strings.Cut(line, " shim: plan loaded"); ok && n == "" {
				note = "plan loaded"
			} else if _, why, ok := strings.Cut(line, " shim: no plan: "); ok {
				note = "no plan: " + why
			}
		}
		return note != ""
	})
	return note
}

// TestPlanFollowsTheDefinition: the second start of a container reads its
// start plan; an edit of its definition, a drop-in added, and its image
// retagged are each picked up by the next start without daemon-reload,
// as before plans.
func TestPlanFollowsTheDefinition(t *testing.T) {
	b := box.Shared(t)
	hello := []images.Entry{{Name: "hello", Source: images.Build(t, "./contrib/hello", t.TempDir())}}
	images.Import(t, b, "hello-plan:test", hello, "--entrypoint", "/hello")
	fresh(t, b, "planned")
	// Started more often than systemd's start rate limit allows.
	def := "[container]\nimage = \"hello-plan:test\"\nenvironment = { PLAN = \"1\" }\n\n[[socket]]\nlisten = \"" + planAddr + "\"\n\n[systemd.unit]\nStartLimitIntervalSec = \"0\"\n"
	if err := b.WriteFile("/etc/dockah/containers/planned.toml", []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	traced(t, b, "planned.service")
	for _, args := range [][]string{{"daemon-reload"}, {"start", "planned.socket"}} {
		if _, err := b.Systemctl(args...); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = b.Systemctl("stop", "planned.socket", "planned.service") })
	start := func(wantNote, wantEnv string) {
		t.Helper()
		if _, err := b.Systemctl("stop", "planned.service"); err != nil {
			t.Fatal(err)
		}
		since := time.Now()
		var got info
		body, err := tryGet("http://" + planAddr + "/info")
		if err == nil {
			err = json.Unmarshal([]byte(body), &got)
		}
		if err != nil {
			journal, _ := b.Journal("planned.service")
			t.Fatalf("%v\n%s", err, journal)
		}
		if note := planNote(t, b, "planned.service", since); !strings.Contains(note, wantNote) {
			journal, _ := b.Journal("planned.service")
			t.Errorf("the shim said %q of its plan, want %q\n%s", note, wantNote, journal)
		}
		if !strings.Contains(" "+strings.Join(got.Env, " ")+" ", " "+wantEnv+" ") {
			t.Errorf("environment %v lacks %s", got.Env, wantEnv)
		}
	}
	time.Sleep(planMargin)
	start("no plan: none stored", "PLAN=1")
	start("plan loaded", "PLAN=1")

	edited := strings.Replace(def, `PLAN = "1"`, `PLAN = "2"`, 1)
	if err := b.WriteFile("/etc/dockah/containers/planned.toml", []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	start("/etc/dockah/containers/planned.toml changed", "PLAN=2")
	time.Sleep(planMargin)
	start("no plan", "PLAN=2") // the edit was too fresh to plan on
	start("plan loaded", "PLAN=2")

	if err := b.WriteFile("/etc/dockah/containers/planned.toml.d/more.toml", []byte("[container]\nenvironment = { MORE = \"yes\" }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start("/etc/dockah/containers/planned.toml.d changed", "MORE=yes")
	time.Sleep(planMargin)
	start("no plan", "MORE=yes")
	start("plan loaded", "MORE=yes")

	// The same image under the name again, with an environment of its
	// own: a new image ID.
	images.Import(t, b, "hello-plan:test", hello, "--entrypoint", "/hello", "--env", "RETAGGED=1")
	start("refs changed", "RETAGGED=1")
}

// TestPlanFollowsTheImagesUsers: the user a container runs as comes from
// its image's /etc/passwd; a commit that changes it and takes the image's
// name is picked up by the next start, whose plan names the new image's
// layers.
func TestPlanFollowsTheImagesUsers(t *testing.T) {
	b := box.Shared(t)
	images.Import(t, b, "planbase:1", images.Busybox(t, "sh", "id", "sed", "sleep"))
	fresh(t, b, "planuser")
	defs := map[string]string{
		"planuser": "[container]\nimage = \"planbase:1\"\nuser = \"app\"\ncommand = [\"id\", \"-u\"]\n",
		"planedit": "[container]\nimage = \"planbase:1\"\ncommand = [\"sleep\", \"600\"]\n",
	}
	for name, def := range defs {
		if err := b.WriteFile("/etc/dockah/containers/"+name+".toml", []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	traced(t, b, "planuser.service")
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = b.Systemctl("stop", "planedit.service", "planuser.service") })
	run := func(wantNote, wantUID string) {
		t.Helper()
		since := time.Now()
		if _, err := b.Systemctl("start", "planuser.service"); err != nil {
			t.Fatal(err)
		}
		var out string
		box.Eventually(10*time.Second, func() bool {
			out, _ = b.Run("journalctl", "--no-pager", "-o", "cat", "-u", "planuser.service", "--since", since.Format("2006-01-02 15:04:05.000000"))
			return strings.Contains(out, "\n"+wantUID+"\n") || strings.HasPrefix(out, wantUID+"\n")
		})
		if !strings.Contains("\n"+out, "\n"+wantUID+"\n") {
			t.Errorf("the container ran as uid %q:\n%s", wantUID, out)
		}
		if note := planNote(t, b, "planuser.service", since); !strings.Contains(note, wantNote) {
			journal, _ := b.Journal("planuser.service")
			t.Errorf("the shim said %q of its plan, want %q\n%s", note, wantNote, journal)
		}
	}
	time.Sleep(planMargin)
	run("none stored", "1000")
	run("plan loaded", "1000")
	if _, err := b.Systemctl("start", "planedit.service"); err != nil {
		t.Fatal(err)
	}
	b.Dockah(t, "exec", "planedit", "sed", "-i", "s/app:x:1000:1000/app:x:2000:2000/", "/etc/passwd")
	if _, err := b.Systemctl("stop", "planedit.service"); err != nil {
		t.Fatal(err)
	}
	b.Dockah(t, "commit", "planedit", "planbase:1")
	run("refs changed", "2000")
}

func tryGet(url string) (string, error) {
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), err
}
