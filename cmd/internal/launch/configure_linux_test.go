package launch

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/internal/imageconfig"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/tests/testenv"
	"github.com/dockah/dockah/unitgen"
)

func TestMain(m *testing.M) {
	// The test binary stands in for the shim: activation.Start may
	// re-execute it as the setup stage.
	if activation.IsStage() {
		activation.RunStage()
	}
	if activation.IsInit() {
		activation.RunInit()
	}
	if os.Getenv(firstPrepareEnv) != "" {
		os.Exit(firstPrepare())
	}
	// Transient containers' records go to a directory of the tests',
	// not to the host's /run/dockah.
	volatile, err := os.MkdirTemp("", "dockah-volatile-")
	if err != nil {
		panic(err)
	}
	VolatileRoot = volatile
	code := m.Run()
	os.RemoveAll(volatile)
	os.Exit(code)
}

// busyboxStart is the configuration of a start of the busybox image
// running script, as Prepare makes it: the spec from a definition that
// names nothing but the image, the policy from configure.
func busyboxStart(t *testing.T, script string) *activation.Config {
	t.Helper()
	lower, store := testenv.BusyboxImage(t)
	def, err := unitgen.Parse("policy", unitgen.File{Path: "/etc/dockah/containers/policy.toml", Data: []byte("[container]\nimage = \"busybox\"\n")})
	if err != nil {
		t.Fatal(err)
	}
	image := imageconfig.Config{Entrypoint: []string{"/bin/sh", "-c", script}, Env: []string{"PATH=/bin"}}
	spec, err := unitgen.Spec(def, unitgen.SpecInput{Image: image, VolumeDir: filepath.Join(store, "volumes")})
	if err != nil {
		t.Fatal(err)
	}
	plan := &rootfs.Plan{Lower: []string{lower}, Upper: filepath.Join(store, "upper"), Work: filepath.Join(store, "work")}
	for _, d := range []string{plan.Upper, plan.Work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _, err := configure(request{Name: "policy", Spec: spec, StoreRoot: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := completeConfig(store, cfg, plan, nil); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runToEnd starts cfg with its output to a pipe, as systemd gives the shim
// the journal, and returns the output and the exit status.
func runToEnd(t *testing.T, cfg *activation.Config) (string, int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := activation.Start(cfg, activation.StartOptions{Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	out, _ := io.ReadAll(r)
	status, err := c.Wait()
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return string(out), status
}

// podmanDefaultCaps is Podman's default capability set: Docker's without
// NET_RAW, MKNOD (27) and AUDIT_WRITE (29).
const podmanDefaultCaps = 1<<0 | 1<<1 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<18 | 1<<31

func TestConfigureAppliesDefaultPolicy(t *testing.T) {
	cfg := busyboxStart(t, `grep -E '^(Seccomp|CapBnd|NoNewPrivs):' /proc/self/status; cat /proc/keys /proc/timer_list; echo 1 > /proc/sys/kernel/ns_last_pid && echo sys-writable; true`)
	out, status := runToEnd(t, cfg)
	if status != 0 {
		t.Fatalf("exit status %d\n%s", status, out)
	}
	for _, want := range []string{"Seccomp:\t2", fmt.Sprintf("CapBnd:\t%016x", podmanDefaultCaps), "NoNewPrivs:\t1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sys-writable") || strings.Contains(out, "now at") {
		t.Errorf("masked or read-only paths are reachable:\n%s", out)
	}
}
