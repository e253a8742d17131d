package services

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
	"github.com/dockah/dockah/unitgen"
)

func TestMain(m *testing.M) { os.Exit(box.Main(m)) }

// service is a service of contrib/images with its definition of
// contrib/units, as this package installs it: the definition as it ships,
// and drop-ins that move its socket to a port of this package and add
// what the test needs.
type service struct {
	name string // contrib/images/NAME, contrib/units/NAME.toml, dockah/NAME:latest
	addr string // where the test's socket listens
	// dropIns are more drop-ins, by file name.
	dropIns map[string]string
	// files are more files to write into the box, by path.
	files map[string]string

	once  sync.Once
	ready bool
}

var project struct {
	once sync.Once
	dir  string
	err  error
}

func projectDir(t testing.TB) string {
	t.Helper()
	project.once.Do(func() { project.dir, project.err = box.FindProjectDir() })
	if project.err != nil {
		t.Fatal(project.err)
	}
	return project.dir
}

// start builds and imports the service's image, installs its definition
// and starts its socket, once per box; the container itself is left to
// the first connection.
func (s *service) start(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	s.once.Do(func() {
		images.Contrib(t, b, s.name)
		s.install(t, b)
		s.ready = true
	})
	if !s.ready {
		t.Fatalf("setting up %s failed in an earlier test", s.name)
	}
	t.Cleanup(func() {
		if t.Failed() {
			journal, _ := b.Journal(s.name + ".service")
			t.Logf("journal of %s.service:\n%s", s.name, journal)
		}
	})
	return b
}

// install writes the definition of contrib/units with the drop-ins that
// move its first socket to s.addr, reloads systemd and starts the socket.
func (s *service) install(t *testing.T, b *box.Box) {
	t.Helper()
	file := filepath.Join(projectDir(t), "contrib/units", s.name+".toml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	def, err := unitgen.Parse(s.name, unitgen.File{Path: file, Data: data})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(def.Sockets) != 1 || def.Sockets[0].Port == 0 {
		t.Fatalf("%s: want one forwarded socket, got %+v", file, def.Sockets)
	}
	sock := def.Sockets[0]
	dir := "/etc/dockah/containers/" + s.name + ".toml.d/"
	// TOML allows no "socket = []" and [[socket]] in one file.
	socket := fmt.Sprintf("[[socket]]\nlisten = %q\nport = %d\n", s.addr, sock.Port)
	if sock.Name != "" {
		socket += fmt.Sprintf("name = %q\n", sock.Name)
	}
	files := map[string]string{
		"/etc/dockah/containers/" + s.name + ".toml": string(data),
		dir + "50-test-no-socket.toml":               "socket = []\n",
		dir + "51-test-socket.toml":                  socket,
	}
	for name, content := range s.dropIns {
		files[dir+name] = content
	}
	if mode := os.Getenv("DOCKAH_TEST_USERNS"); mode != "" {
		// The real services run with the default (a user namespace of
		// their own); DOCKAH_TEST_USERNS=host runs them with the host's
		// IDs instead.
		files[dir+"52-test-userns.toml"] = fmt.Sprintf("[security]\nuserns = %q\n", mode)
	}
	for path, content := range s.files {
		files[path] = content
	}
	for path, content := range files {
		if err := b.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Run("dockah", "validate"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("start", s.name+".socket"); err != nil {
		t.Fatal(err)
	}
}

// restart restarts the container with systemctl and waits until it runs.
func (s *service) restart(t *testing.T, b *box.Box) {
	t.Helper()
	before, _ := b.Property(s.name+".service", "MainPID")
	if _, err := b.Systemctl("restart", s.name+".service"); err != nil {
		t.Fatalf("systemctl restart %s: %v", s.name, err)
	}
	if err := b.WaitUnitState(s.name+".service", time.Minute, "active"); err != nil {
		t.Fatal(err)
	}
	if after, _ := b.Property(s.name+".service", "MainPID"); after == before {
		t.Fatalf("%s.service has the main pid %s after its restart, as before", s.name, after)
	}
}

// stop stops the container and checks that its socket still listens.
func (s *service) stop(t *testing.T, b *box.Box) {
	t.Helper()
	if _, err := b.Systemctl("stop", s.name+".service"); err != nil {
		t.Fatalf("systemctl stop %s: %v", s.name, err)
	}
	if state, _ := b.Property(s.name+".service", "ActiveState"); state != "inactive" {
		t.Fatalf("%s.service is %q after its stop", s.name, state)
	}
	if state, _ := b.Property(s.name+".socket", "ActiveState"); state != "active" {
		t.Fatalf("%s.socket is %q after the service's stop, want it listening", s.name, state)
	}
}

// mainUID returns the uid the container's main process runs as.
func (s *service) mainUID(t *testing.T, b *box.Box) string {
	t.Helper()
	pid, err := b.Property(s.name+".service", "MainPID")
	if err != nil || pid == "0" {
		t.Fatalf("%s.service has no main pid (%q): %v", s.name, pid, err)
	}
	out, err := b.Run("stat", "-c", "%u", "/proc/"+pid)
	if err != nil {
		t.Fatal(err)
	}
	uid := strings.TrimSpace(out)
	// In a user namespace of its own (the default), the container's uid
	// is the host's minus its range's start, and root must not be the
	// host's.
	idmap, err := b.Run("cat", "/proc/"+pid+"/uid_map")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(idmap); len(f) == 3 && f[0] == "0" && f[1] != "0" {
		host, _ := strconv.ParseUint(uid, 10, 32)
		start, _ := strconv.ParseUint(f[1], 10, 32)
		if host < start {
			t.Fatalf("%s runs as host uid %d, outside its range %s", s.name, host, idmap)
		}
		return strconv.FormatUint(host-start, 10)
	}
	if os.Getenv("DOCKAH_TEST_USERNS") != "host" {
		t.Errorf("%s runs in the host's user namespace (uid_map %q), not in one of its own (the default)", s.name, idmap)
	}
	return uid
}

// volume returns the host path of a file in a named volume of the box.
func volume(b *box.Box, name, path string) string {
	return filepath.Join(b.StoreDir(), "volumes", name, "_data", path)
}

// client runs a client program of the host against the box (the box
// shares the host's network) with stdin, and returns its output.
func client(t *testing.T, stdin string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), err
}

func mustClient(t *testing.T, stdin string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := client(t, stdin, env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
