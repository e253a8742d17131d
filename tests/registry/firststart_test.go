package registry

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// pullUnit is the unit that pulls a container's image before it starts.
func pullUnit(name string) string { return "dockah-pull@" + name + ".service" }

// define declares the container name with image and one passed socket on
// addr, reloads systemd and starts the socket; when the test ends it
// stops the units, removes the definition and reloads again.
func define(t *testing.T, b *box.Box, name, image, addr string) {
	t.Helper()
	path := "/etc/dockah/containers/" + name + ".toml"
	def := "[container]\nimage = \"" + image + "\"\n\n[[socket]]\nlisten = \"" + addr + "\"\nname = \"http\"\n"
	if err := b.WriteFile(path, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	units := []string{name + ".socket", name + ".service", pullUnit(name)}
	t.Cleanup(func() {
		if t.Failed() {
			for _, u := range units[1:] {
				// Its processes' own lines, then the last of systemd's.
				own, _ := b.Run("journalctl", "--no-pager", "-n", "20", "-o", "cat", "_SYSTEMD_UNIT="+u)
				all, _ := b.Run("journalctl", "--no-pager", "-n", "10", "-u", u)
				t.Logf("journal of %s: its processes:\n%s\nthe last lines:\n%s", u, own, all)
			}
		}
		_, _ = b.Systemctl(append([]string{"stop"}, units...)...)
		_ = os.Remove(b.Path(path))
		_, _ = b.Systemctl("daemon-reload")
		_, _ = b.Systemctl(append([]string{"reset-failed"}, units...)...)
	})
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("start", name+".socket"); err != nil {
		t.Fatal(err)
	}
}

// get sends GET / to addr and returns the answer's status and body.
func get(addr string, timeout time.Duration) (int, string, error) {
	client := &http.Client{Transport: &http.Transport{}, Timeout: timeout}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestPulledOnFirstStart declares a container of an image that is only in
// a TLS registry: the first connection to its socket pulls the image
// (dockah-pull@NAME.service, by default pull = "missing") and the
// container answers.
func TestPulledOnFirstStart(t *testing.T) {
	b := box.Shared(t)
	r := Start(t, Options{TLS: true})
	r.InstallCA(t, b)
	l := newLayout(t)
	hello := images.Build(t, "./contrib/hello", t.TempDir())
	l.build("hello", "", []images.Entry{{Name: "hello", Source: hello}, marker(t)})
	l.config("hello", "--config.entrypoint", "/hello")
	r.Copy(t, l.src("hello"), "demo/hello:1")
	ref := r.Ref("demo/hello:1")
	removeImage(t, b, ref)

	define(t, b, "reg-hello", ref, helloAddr)
	status, body, err := get(helloAddr, 2*time.Minute)
	if err != nil || status != http.StatusOK || !strings.Contains(body, "hello from dockah") {
		t.Fatalf("first connection to %s: HTTP %d %q, %v", helloAddr, status, body, err)
	}
	journal, err := b.Journal(pullUnit("reg-hello"))
	if err != nil || !strings.Contains(journal, r.Host+"/demo/hello") {
		t.Errorf("the journal of %s does not name %s (%v):\n%s", pullUnit("reg-hello"), ref, err, journal)
	}
	if !listed(t, b, r.Host+"/demo/hello", "1") {
		t.Errorf("dockah image ls does not list %s after the first start:\n%s", ref, dockah(t, b, "image", "ls").stdout)
	}
	if got, want := imageID(t, b, ref), manifestConfig(t, r, "demo/hello:1"); got != want {
		t.Errorf("the pulled image has ID %s, the registry's config digest is %s", got, want)
	}
}

// TestFailedPullOnFirstStart declares a container of an image the
// registry does not have: the first connection fails, the pull unit is
// failed with one clear journal line, and the container's service never
// ran and is not restarted over and over.
func TestFailedPullOnFirstStart(t *testing.T) {
	b := box.Shared(t)
	r := Start(t, Options{TLS: true})
	r.InstallCA(t, b)
	ref := r.Ref("demo/missing:1")
	name, pull := "reg-missing", pullUnit("reg-missing")

	define(t, b, name, ref, missingAddr)
	if status, body, err := get(missingAddr, time.Minute); err == nil && status == http.StatusOK {
		t.Errorf("a container of a missing image answered: HTTP %d %q", status, body)
	}
	if !eventually(30*time.Second, func() bool {
		out, _ := b.Systemctl("is-failed", pull)
		return strings.TrimSpace(out) == "failed"
	}) {
		out, _ := b.Systemctl("status", pull)
		t.Fatalf("%s is not failed:\n%s", pull, out)
	}
	// Long enough for a restart loop to show.
	time.Sleep(3 * time.Second)
	for prop, want := range map[string]string{"NRestarts": "0", "ExecMainStartTimestampMonotonic": "0"} {
		if got, err := b.Property(name+".service", prop); err != nil || got != want {
			t.Errorf("%s.service: %s=%s (%v), want %s", name, prop, got, err, want)
		}
	}
	if state, _ := b.Property(name+".service", "ActiveState"); state == "active" || state == "activating" {
		t.Errorf("%s.service is %s after its image failed to pull", name, state)
	}
	// What the pull itself logged (not systemd's lines about the unit):
	// one line naming the image and saying what is wrong.
	out, err := b.Run("journalctl", "--no-pager", "-o", "cat", "_SYSTEMD_UNIT="+pull)
	if err != nil {
		t.Fatal(err)
	}
	var naming []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, r.Host+"/demo/missing") {
			naming = append(naming, line)
		}
	}
	switch {
	case len(naming) > 1:
		socket, _ := b.Property(name+".socket", "Result")
		t.Errorf("one connection ran the pull %d times (a pull loop; %s.socket ended with result %s); want one journal line of %s naming %s; it logged:\n%s",
			len(naming), name, socket, pull, ref, out)
	case len(naming) == 0 || !matches(`not found|unknown|no such|does not exist|404`, naming[0]):
		t.Errorf("want one journal line of %s naming %s and saying it is not found; it logged:\n%s", pull, ref, out)
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
