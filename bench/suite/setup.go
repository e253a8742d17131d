package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dockah/dockah/bench/benchimage"
	"github.com/dockah/dockah/internal/deftest"
	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// benchDir is the suite's working directory inside the box. It is the
// folder bench/ of the box's image store (/var/lib/dockah, a bind of the
// host's real file system), bound again here: overlayfs (podman's storage,
// dockah's layers) cannot live on the box's own overlay root, and every
// runtime should read the image from the same kind of file system.
const benchDir = "/var/lib/bench"

// Paths inside the box.
const (
	imageTar = benchDir + "/hello.tar"
	rootfs   = benchDir + "/rootfs" // the image unpacked, for crun, runc, nspawn and the floor
	bundles  = benchDir + "/bundles"
	shim     = "/usr/libexec/dockah/dockah-activate"
)

// suite holds the box, the variants and everything measured.
type suite struct {
	box      *box.Box
	opts     options
	machine  machine
	versions []version
	variants []*variant
	podman   podmanSetup
	machined *memUse // systemd-machined, which dockah registers with
	disk     []diskUse
	// runLeftovers counts the writable layers "dockah run --rm" left.
	runLeftovers int
	durations    []phaseTime
	elapsed      time.Duration
}

// host returns the host path of a path under benchDir in the box.
func (s *suite) host(inside string) string {
	rel, ok := strings.CutPrefix(inside, benchDir)
	if !ok {
		panic("not under " + benchDir + ": " + inside)
	}
	return filepath.Join(s.box.StoreDir(), "bench", rel)
}

// writeBench writes a file under benchDir, from the host.
func (s *suite) writeBench(inside string, data []byte) error {
	path := s.host(inside)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// sh runs a shell command in the box.
func (s *suite) sh(script string, args ...string) (string, error) {
	return s.box.Run(append([]string{"sh", "-c", script, "sh"}, args...)...)
}

func (s *suite) setup() error {
	_, err := runSteps("setup: ", []step{
		{"bench directory and podman's storage", s.mountBenchDir},
		{"image", s.writeImage},
		{"dockah definitions", s.writeDefinitions},
		{"OCI bundles", s.writeBundles},
		{"podman", s.setupPodman},
		{"units", s.writeUnits},
	})
	if err != nil {
		return err
	}
	s.variants = s.newVariants()
	return nil
}

func (s *suite) mountBenchDir() error {
	if err := os.MkdirAll(s.host(benchDir+"/containers"), 0o755); err != nil {
		return err
	}
	_, err := s.sh(`set -e
mkdir -p ` + benchDir + ` /var/lib/containers
mount --bind /var/lib/dockah/bench ` + benchDir + `
mount --bind ` + benchDir + `/containers /var/lib/containers`)
	return err
}

func (s *suite) writeImage() error {
	entries, err := benchimage.Entries()
	if err != nil {
		return err
	}
	if err := images.WriteTar(s.host(imageTar), entries); err != nil {
		return err
	}
	if _, err := s.box.Run("sh", "-c", "mkdir -p "+rootfs+" && tar -C "+rootfs+" -xpf "+imageTar); err != nil {
		return err
	}
	for _, ref := range []struct{ name, entrypoint string }{{"hello:bench", "/hello"}, {"true:bench", "/bin/true"}} {
		// The same tar twice: one layer, stored once; true:bench only
		// changes the entrypoint, for "dockah run --rm true:bench".
		if _, err := s.box.Run("dockah", "image", "import", "-q", imageTar, "--name", ref.name, "--entrypoint", ref.entrypoint); err != nil {
			return err
		}
	}
	_, err = s.box.Run("podman", "import", "-q", "--change", `ENTRYPOINT ["/hello"]`, imageTar, "localhost/hello:bench")
	return err
}

// definition is a dockah definition of the hello image, read-only. The
// suite starts each service far more often than systemd's start rate
// limit allows; it is lifted for every variant alike.
func definition() *deftest.Definition {
	return deftest.New("hello:bench").Container("read_only = true").
		Table("[systemd.unit]", `StartLimitIntervalSec = "0"`)
}

// servedDefinition is the definition of a dockah variant whose socket is
// passed in.
func servedDefinition(variant string) string {
	return definition().Table("[[socket]]", `listen = "`+addrOf(variant)+`"`).String()
}

func (s *suite) writeDefinitions() error {
	defs := map[string]string{
		"bench-dockah":           servedDefinition("dockah"),
		"bench-dockah-nosandbox": servedDefinition("dockah-nosandbox"),
		"bench-dockah-hostids":   definition().Table("[[socket]]", `listen = "`+addrOf("dockah-hostids")+`"`).Table("[security]", `userns = "host"`).String(),
		"bench-dockah-fwd":       definition().Table("[[socket]]", `listen = "`+addrOf("dockah-fwd")+`"`, "port = 8080").String(),
		"bench-true":             definition().Container(`entrypoint = ["/bin/true"]`).String(),
	}
	for name, def := range defs {
		if err := s.box.WriteFile("/etc/dockah/containers/"+name+".toml", []byte(def), 0o644); err != nil {
			return err
		}
	}
	if err := s.writeUnsandboxed(); err != nil {
		return err
	}
	_, err := s.box.Systemctl("daemon-reload")
	return err
}

// ports of the socket-activated variants, on the host's loopback (the box
// shares the host's network).
var ports = map[string]int{
	"floor": 18501, "dockah": 18502, "dockah-fwd": 18503, "crun": 18504,
	"crun-seccomp": 18505, "runc": 18506, "podman": 18507, "nspawn": 18508,
	"floor-sandbox": 18509, "dockah-nosandbox": 18510, "dockah-hostids": 18511,
	"crun-sandbox": 18512, "socket-proxyd": 18513,
}

// proxydBackend is where systemd-socket-proxyd relays to: the floor's
// server, socket-activated on a port of its own, started by proxyd's
// first connection as dockah-fwd's container is by its first.
const proxydBackend = "127.0.0.1:18514"

func addrOf(name string) string { return fmt.Sprintf("127.0.0.1:%d", ports[name]) }

// nspawnCmd runs cmd in the image with systemd-nspawn: no registration,
// in the calling unit's cgroup, read-only (the tree is shared), a private
// network like the others, and nothing written into the tree.
func nspawnCmd(cmd string) string {
	return "/usr/bin/systemd-nspawn --quiet -D " + rootfs + " --register=no --keep-unit --read-only " +
		"--private-network --resolv-conf=off --timezone=off --link-journal=no " + cmd
}

// serviceUnits are the units of the variants dockah's generator does not
// write: ExecStart and extra [Service] lines.
func (s *suite) serviceUnits() (map[string]string, error) {
	// name is the container's, bundle the bundle's (crun-sandbox runs
	// crun's).
	crun := func(name, bundle string) string {
		return "ExecStart=/usr/bin/crun --cgroup-manager=disabled run --preserve-fds=1 --bundle " + bundles + "/" + bundle + "-serve bench-" + name + "\n" +
			"ExecStopPost=-/usr/bin/crun delete -f bench-" + name + "\n"
	}
	sandbox, err := benchSandbox()
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"floor":         "ExecStart=" + rootfs + "/hello\n",
		"floor-sandbox": "ExecStart=" + rootfs + "/hello\n" + sandboxText(sandbox),
		"crun":          crun("crun", "crun"),
		"crun-sandbox":  crun("crun-sandbox", "crun") + sandboxText(sandbox),
		"crun-seccomp":  crun("crun-seccomp", "crun-seccomp"),
		"runc": "ExecStart=/usr/sbin/runc run --bundle " + bundles + "/runc-serve bench-runc\n" +
			"ExecStopPost=-/usr/sbin/runc delete -f bench-runc\n",
		"podman": s.podman.unit(),
		// systemd-socket-proxyd in front of the floor's server: both
		// cold, the server stopped with proxyd (PartOf= in its unit).
		"socket-proxyd": "Requires=bench-proxyd-backend.socket\nAfter=bench-proxyd-backend.socket\nExecStart=/lib/systemd/systemd-socket-proxyd " + proxydBackend + "\n",
		// As systemd-nspawn@.service: nspawn manages the cgroup below
		// its unit, and stops its payload itself.
		"nspawn": "ExecStart=" + nspawnCmd("/hello") + "\nDelegate=yes\nKillMode=mixed\n",
	}, nil
}

func (s *suite) writeUnits() error {
	units, err := s.serviceUnits()
	if err != nil {
		return err
	}
	if s.podman.broken {
		delete(units, "podman")
	}
	sockets := []string{"bench-dockah.socket", "bench-dockah-nosandbox.socket", "bench-dockah-fwd.socket", "bench-dockah-hostids.socket", "bench-proxyd-backend.socket"}
	backend := map[string]string{
		"/etc/systemd/system/bench-proxyd-backend.socket":  "[Socket]\nListenStream=" + proxydBackend + "\n",
		"/etc/systemd/system/bench-proxyd-backend.service": "[Unit]\nStartLimitIntervalSec=0\nPartOf=bench-socket-proxyd.service\n\n[Service]\nExecStart=" + rootfs + "/hello\n",
	}
	for path, text := range backend {
		if err := s.box.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	for name, service := range units {
		socket := "[Socket]\nListenStream=" + addrOf(name) + "\n"
		unit := "[Unit]\nStartLimitIntervalSec=0\n\n[Service]\n" + service
		if err := s.box.WriteFile("/etc/systemd/system/bench-"+name+".socket", []byte(socket), 0o644); err != nil {
			return err
		}
		if err := s.box.WriteFile("/etc/systemd/system/bench-"+name+".service", []byte(unit), 0o644); err != nil {
			return err
		}
		sockets = append(sockets, "bench-"+name+".socket")
	}
	if _, err := s.box.Systemctl("daemon-reload"); err != nil {
		return err
	}
	_, err = s.box.Systemctl(append([]string{"start"}, sockets...)...)
	return err
}
