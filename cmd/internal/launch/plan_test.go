package launch

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/policy"
	"github.com/dockah/dockah/rootfs"
	"github.com/dockah/dockah/tests/testenv"
	"github.com/dockah/dockah/unitgen"
)

// planHost is a host for start plans: a root for the definitions, an
// image store with the image app:1, and the shim's facts in files the
// test may change.
type planHost struct {
	t     testing.TB
	root  string // the definitions' "/"
	store *rootfs.Store
	exe   string // stands in for the shim's executable
	boot  string // stands in for the boot id
}

// webDefinition ends in its [container] table, which cases extend. As
// root it has the default user namespace; a run as nobody cannot give the
// writable layer to a range (chown), so there it says userns = "host".
var webDefinition = securityTable("") + webContainer

const webContainer = "[container]\nimage = \"app:1\"\nenvironment = { A = \"1\" }\n"

// securityTable is the [security] table of a test's definition: lines, and
// userns = "host" when the test runs as nobody.
func securityTable(lines string) string {
	if os.Geteuid() != 0 {
		lines += "userns = \"host\"\n"
	}
	if lines == "" {
		return ""
	}
	return "[security]\n" + lines + "\n"
}

// newPlanHost makes one, with web.toml in /etc/dockah/containers. Its
// clock runs ahead of the files' times by more than racyMargin, so that
// what a test just wrote may be planned on; the test that needs the
// margin sets the clock back.
func newPlanHost(t testing.TB) *planHost {
	t.Helper()
	dir := t.TempDir()
	h := &planHost{t: t, root: filepath.Join(dir, "root"), exe: filepath.Join(dir, "shim"), boot: filepath.Join(dir, "boot_id")}
	store, err := rootfs.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	h.store = store
	h.write(h.exe, "shim 1")
	h.write(h.boot, "b0a2c3d4-0000-4000-8000-000000000001\n")
	h.image(`{"Entrypoint":["/bin/app"]}`)
	h.write(h.def("etc", "web.toml"), webDefinition)
	saved, savedNow := factSources, now
	factSources.exe, factSources.bootID = h.exe, h.boot
	factSources.bounding = func() policy.CapSet { return policy.AllCaps() }
	now = func() time.Time { return time.Now().Add(time.Minute) }
	t.Cleanup(func() { factSources, now = saved, savedNow })
	return h
}

func (h *planHost) def(dir string, elem ...string) string {
	prefix := map[string]string{"etc": "etc", "run": "run", "usr": "usr/lib"}[dir]
	return filepath.Join(append([]string{h.root, prefix, "dockah/containers"}, elem...)...)
}

// write writes a file, a tick of the coarse clock after the last write,
// so that even an edit that keeps the size gets other times.
func (h *planHost) write(path, data string) {
	h.t.Helper()
	time.Sleep(20 * time.Millisecond)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// image stores an image with config (its "config" part) as app:1.
func (h *planHost) image(config string) string {
	h.t.Helper()
	raw := `{"architecture":"amd64","os":"linux","config":` + config + `,"rootfs":{"type":"layers","diff_ids":[]}}`
	ref, err := rootfs.ParseLocalReference("app:1")
	if err != nil {
		h.t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	img, err := h.store.AddImage([]byte(raw), []rootfs.Reference{ref})
	if err != nil {
		h.t.Fatal(err)
	}
	return img.ID
}

func (h *planHost) options() Options {
	return Options{Mode: ModeStart, Definitions: os.DirFS(h.root), StoreRoot: h.store.Root(), Plans: true}
}

// start prepares a start of web as the shim does, storing its plan.
func (h *planHost) start() *Prepared {
	h.t.Helper()
	prep, err := Prepare("web", h.options())
	if err != nil {
		h.t.Fatalf("prepare: %v", err)
	}
	if err := prep.SavePlan(); err != nil {
		h.t.Fatalf("save plan: %v", err)
	}
	return prep
}

// warm checks that a start after a stored plan reads it and gets the
// same configuration as the start that computed it.
func (h *planHost) warm(cold *Prepared) *Prepared {
	h.t.Helper()
	if cold.FromPlan {
		h.t.Fatal("the first start read a plan")
	}
	warm := h.start()
	if !warm.FromPlan {
		h.t.Fatal("the start after a stored plan computed it again")
	}
	// Neither the definition (TOML) nor the image (its record and OCI
	// config) was read.
	if warm.Definition != nil || warm.Image != nil {
		h.t.Error("a start from the plan loaded the definition or the image")
	}
	if diff := cmp.Diff(cold.Config, warm.Config); diff != "" {
		h.t.Errorf("the plan's configuration differs from the computed one (-computed +plan):\n%s", diff)
	}
	if cold.Container != warm.Container {
		h.t.Errorf("container facts: computed %+v, from the plan %+v", cold.Container, warm.Container)
	}
	return warm
}

func env(p *Prepared) string { return strings.Join(p.Config.Spec.Process.Env, " ") }

func TestPlanWarmStart(t *testing.T) {
	h := newPlanHost(t)
	h.write(h.def("etc", "web.toml"), webDefinition+"[[socket]]\nlisten = \"127.0.0.1:9\"\nport = 80\n[[socket]]\nlisten = \"127.0.0.1:10\"\n")
	h.warm(h.start())
	// What each start gives: the matched sockets and the notify socket.
	o := h.options()
	o.Sockets = []string{"web", "web"}
	prep, err := Prepare("web", o)
	if err != nil {
		t.Fatal(err)
	}
	want := []PassedSocket{{Index: 0, Name: "web", Port: 80}, {Index: 1, Name: "web"}}
	if !prep.FromPlan || !cmp.Equal(prep.Sockets, want) || !cmp.Equal(prep.Config.Sockets, []string{"web"}) {
		t.Errorf("from plan %v: sockets %+v, passed in %v", prep.FromPlan, prep.Sockets, prep.Config.Sockets)
	}
	if prep.Config.MountPoint == "" || len(prep.Config.Root.Lower) == 0 || prep.Config.Root.Upper == "" {
		t.Errorf("the start's root is missing: %+v", prep.Config.Root)
	}
}

// TestPlanInvalidation changes each thing a plan depends on, after a plan
// was stored, and checks that the next start computes its configuration
// again (and sees the change), and that the one after reads the new plan.
func TestPlanInvalidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h *planHost)
		check  func(p *Prepared) error
	}{
		{"a drop-in added", func(h *planHost) {
			h.write(h.def("etc", "web.toml.d", "10-b.toml"), "[container]\nenvironment = { B = \"2\" }\n")
		}, wantEnv("B=2")},
		{"a drop-in added in a lower directory", func(h *planHost) {
			h.write(h.def("usr", "web.toml.d", "10-b.toml"), "[container]\nenvironment = { B = \"3\" }\n")
		}, wantEnv("B=3")},
		{"the definition edited, same size", func(h *planHost) {
			h.write(h.def("etc", "web.toml"), strings.Replace(webDefinition, `A = "1"`, `A = "2"`, 1))
		}, wantEnv("A=2")},
		{"the definition edited, its time set back", func(h *planHost) {
			p := h.def("etc", "web.toml")
			info, _ := os.Stat(p)
			h.write(p, strings.Replace(webDefinition, `A = "1"`, `A = "3"`, 1))
			if err := os.Chtimes(p, info.ModTime(), info.ModTime()); err != nil {
				h.t.Fatal(err)
			}
		}, wantEnv("A=3")},
		{"the definition replaced by rename", func(h *planHost) {
			p := h.def("etc", "web.toml")
			h.write(p+".new", strings.Replace(webDefinition, `A = "1"`, `A = "4"`, 1))
			if err := os.Rename(p+".new", p); err != nil {
				h.t.Fatal(err)
			}
		}, wantEnv("A=4")},
		{"a definition higher in the search path", func(h *planHost) {
			h.write(h.def("run", "web.toml"), securityTable("")+"[container]\nimage = \"app:1\"\nenvironment = { C = \"1\" }\n")
			if err := os.Remove(h.def("etc", "web.toml")); err != nil {
				h.t.Fatal(err)
			}
		}, wantEnv("C=1")},
		{"the image retagged to a new ID", func(h *planHost) {
			h.image(`{"Entrypoint":["/bin/app2"]}`)
		}, func(p *Prepared) error {
			if args := p.Config.Spec.Process.Args; len(args) == 0 || args[0] != "/bin/app2" {
				return fmt.Errorf("args %v, want the new image's entrypoint", args)
			}
			return nil
		}},
		{"the image's user database changed by a commit", func(h *planHost) {
			// A commit is a new image under the name; the user is
			// resolved from the image at start, its name from here.
			h.image(`{"Entrypoint":["/bin/app"],"User":"web"}`)
		}, func(p *Prepared) error {
			if u := p.Config.Spec.Process.User.Username; u != "web" {
				return fmt.Errorf("user %q, want the committed image's", u)
			}
			return nil
		}},
		{"an environment file edited", func(h *planHost) {
			// Set up by the case's preamble below: web.toml names it.
			h.write(filepath.Join(h.root, "env"), "E=2\n")
		}, wantEnv("E=2")},
		{"a seccomp profile file edited", func(h *planHost) {
			h.write(filepath.Join(h.root, "seccomp.json"), `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"}]}`)
		}, func(p *Prepared) error {
			if len(p.Config.Seccomp) == 0 {
				return errors.New("no seccomp program")
			}
			return nil
		}},
		{"a new shim", func(h *planHost) { h.write(h.exe, "shim 2") }, nil},
		{"the host booted", func(h *planHost) { h.write(h.boot, "b0a2c3d4-0000-4000-8000-000000000002\n") }, nil},
		{"another bounding set", func(h *planHost) {
			factSources.bounding = func() policy.CapSet { return policy.AllCaps() &^ 1 }
		}, func(p *Prepared) error {
			if p.Config.Capabilities.Bounding&1 != 0 {
				return errors.New("CAP_CHOWN granted outside the shim's bounding set")
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newPlanHost(t)
			switch {
			case strings.HasPrefix(tc.name, "an environment file"):
				h.write(filepath.Join(h.root, "env"), "E=1\n")
				h.write(h.def("etc", "web.toml"), webDefinition+"environment_files = [\""+filepath.Join(h.root, "env")+"\"]\n")
			case strings.HasPrefix(tc.name, "a seccomp profile"):
				h.write(filepath.Join(h.root, "seccomp.json"), `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`)
				h.write(h.def("etc", "web.toml"), securityTable("seccomp = \""+filepath.Join(h.root, "seccomp.json")+"\"\n")+webContainer)
			}
			h.warm(h.start())
			tc.change(h)
			cold := h.start()
			if cold.FromPlan {
				t.Fatal("the start after the change read the stale plan")
			}
			t.Logf("why no plan: %s", cold.PlanNote)
			if tc.check != nil {
				if err := tc.check(cold); err != nil {
					t.Error(err)
				}
			}
			h.warm(cold)
		})
	}
}

func wantEnv(kv string) func(p *Prepared) error {
	return func(p *Prepared) error {
		if !strings.Contains(" "+env(p)+" ", " "+kv+" ") {
			return fmt.Errorf("environment %q lacks %s", env(p), kv)
		}
		return nil
	}
}

// TestPlanGone: what removes the container's definition or image makes
// the start fail as without a plan, not start from the plan.
func TestPlanGone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h *planHost)
		want   error
	}{
		{"definition removed", func(h *planHost) { os.Remove(h.def("etc", "web.toml")) }, unitgen.ErrNotFound},
		{"definition masked", func(h *planHost) { h.write(h.def("etc", "web.toml"), "\n") }, unitgen.ErrMasked},
		{"image removed", func(h *planHost) {
			if _, err := h.store.Remove("app:1", rootfs.RemoveOptions{Force: true}); err != nil {
				h.t.Fatal(err)
			}
		}, rootfs.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newPlanHost(t)
			h.warm(h.start())
			tc.change(h)
			_, err := Prepare("web", h.options())
			if !errors.Is(err, tc.want) {
				t.Errorf("prepare: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestPlanRacy: a definition written less than racyMargin before a start
// is not planned on (an edit within the same tick of its clock could keep
// its stat); once older, it is.
func TestPlanRacy(t *testing.T) {
	h := newPlanHost(t)
	now = time.Now
	if h.start().FromPlan || h.start().FromPlan {
		t.Fatal("a plan was stored on a definition written just now")
	}
	now = func() time.Time { return time.Now().Add(racyMargin + time.Second) }
	h.warm(h.start())
}

// TestPlanHostileFile: a plan file that is torn, forged, of another
// container or version, or not a plain file of the store's owner is
// ignored; the start computes its configuration and replaces it.
func TestPlanHostileFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(h *planHost, path string, data []byte)
		why   string // in PlanNote
	}{
		{"empty", func(h *planHost, p string, _ []byte) { writeMode(h.t, p, nil, 0o600) }, "not a dockah start plan"},
		{"truncated", func(h *planHost, p string, d []byte) { writeMode(h.t, p, d[:len(d)/2], 0o600) }, "checksum mismatch"},
		{"bad magic", func(h *planHost, p string, d []byte) {
			writeMode(h.t, p, append([]byte("XXXXXXX\n"), d[8:]...), 0o600)
		}, "not a dockah start plan"},
		{"a flipped byte", func(h *planHost, p string, d []byte) {
			d = append([]byte{}, d...)
			d[len(d)-10] ^= 1
			writeMode(h.t, p, d, 0o600)
		}, "checksum mismatch"},
		{"another container's", func(h *planHost, p string, d []byte) {
			writeMode(h.t, p, reencode(h.t, d, func(p *plan) { p.Name = "db" }), 0o600)
		}, `the plan of "db"`},
		{"another format", func(h *planHost, p string, d []byte) {
			writeMode(h.t, p, reencode(h.t, d, func(p *plan) { p.Key.Format = planFormat + 1 }), 0o600)
		}, "plan format"},
		{"an odd seccomp program", func(h *planHost, p string, d []byte) {
			writeMode(h.t, p, reencode(h.t, d, func(p *plan) { p.Config.Seccomp = append(p.Config.Seccomp, 1) }), 0o600)
		}, "whole number of BPF instructions"},
		{"a start's configuration", func(h *planHost, p string, d []byte) {
			writeMode(h.t, p, reencode(h.t, d, func(p *plan) { p.Config.MountPoint = "/" }), 0o600)
		}, "a configuration of one start"},
		{"garbage with a good checksum", func(h *planHost, p string, d []byte) {
			writeMode(h.t, p, withSum([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")), 0o600)
		}, "truncated or malformed"},
		{"a length past the end", func(h *planHost, p string, d []byte) {
			writeMode(h.t, p, withSum([]byte("\x03web\x01\xf0\xff\xff\x0f")), 0o600)
		}, "truncated or malformed"},
		{"trailing data", func(h *planHost, p string, d []byte) {
			writeMode(h.t, p, withSum(append(append([]byte{}, d[len(planMagic)+32:]...), 0)), 0o600)
		}, "trailing data"},
		{"too large", func(h *planHost, p string, d []byte) { writeMode(h.t, p, make([]byte, 2<<20), 0o600) }, "larger than"},
		{"writable by others", func(h *planHost, p string, d []byte) { writeMode(h.t, p, d, 0o666) }, "writable by others"},
		{"a symlink to a good plan", func(h *planHost, p string, d []byte) {
			writeMode(h.t, p+".real", d, 0o600)
			os.Remove(p)
			if err := os.Symlink(p+".real", p); err != nil {
				h.t.Fatal(err)
			}
		}, "too many levels of symbolic links"},
		{"a FIFO", func(h *planHost, p string, _ []byte) {
			os.Remove(p)
			if err := mkfifo(p); err != nil {
				h.t.Fatal(err)
			}
		}, "not trusted: mode"},
		{"a directory", func(h *planHost, p string, _ []byte) {
			os.Remove(p)
			if err := os.Mkdir(p, 0o700); err != nil {
				h.t.Fatal(err)
			}
		}, "not trusted: mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newPlanHost(t)
			h.warm(h.start())
			path := filepath.Join(h.store.Root(), "plans", "web")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.spoil(h, path, data)
			cold, err := Prepare("web", h.options())
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			if cold.FromPlan {
				t.Fatal("the spoilt plan was used")
			}
			if !strings.Contains(cold.PlanNote, tc.why) {
				t.Errorf("why no plan: %q, want %q", cold.PlanNote, tc.why)
			}
			if tc.name == "a directory" {
				return // rename cannot replace a directory with a file
			}
			if err := cold.SavePlan(); err != nil {
				t.Fatal(err)
			}
			h.warm(cold)
		})
	}
}

func TestPlanUntrustedDirectory(t *testing.T) {
	h := newPlanHost(t)
	h.warm(h.start())
	dir := filepath.Join(h.store.Root(), "plans")
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if prep := h.start(); prep.FromPlan || !strings.Contains(prep.PlanNote, "writable by others") {
		t.Errorf("a plan was read from a directory anyone may write (%s)", prep.PlanNote)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir, dir+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir+".real", dir); err != nil {
		t.Fatal(err)
	}
	if prep := h.start(); prep.FromPlan || !strings.Contains(prep.PlanNote, "not a directory") {
		t.Errorf("a plan was read through a symlinked directory (%s)", prep.PlanNote)
	}
}

// TestPlanConcurrentStarts: starts of one container at once all prepare,
// and leave one good plan.
func TestPlanConcurrentStarts(t *testing.T) {
	h := newPlanHost(t)
	testenv.AllAtOnce(t, 8, func(int) error {
		prep, err := Prepare("web", h.options())
		if err != nil {
			return err
		}
		return prep.SavePlan()
	})
	if prep := h.start(); !prep.FromPlan {
		t.Error("no good plan after concurrent starts")
	}
	testenv.AllAtOnce(t, 8, func(int) error {
		prep, err := Prepare("web", h.options())
		if err == nil && !prep.FromPlan {
			err = errors.New("a start did not read the plan")
		}
		return err
	})
}

// TestPlanNotForRunContainers: a definition file of dockah run is never
// planned on.
func TestPlanNotForRunContainers(t *testing.T) {
	h := newPlanHost(t)
	o := h.options()
	o.DefinitionFile = h.def("etc", "web.toml")
	for range 2 {
		prep, err := Prepare("web", o)
		if err != nil {
			t.Fatal(err)
		}
		if prep.FromPlan || prep.pending != nil {
			t.Fatal("a plan for a container of dockah run")
		}
	}
}

func writeMode(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	os.Remove(path)
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// reencode changes a stored plan and writes it with a good checksum.
func reencode(t testing.TB, data []byte, change func(*plan)) []byte {
	t.Helper()
	r := planReader{b: data[len(planMagic)+32:]}
	p := r.plan()
	if r.err != nil {
		t.Fatal(r.err)
	}
	change(p)
	return encodePlan(p)
}

// withSum makes a plan file of a body.
func withSum(body []byte) []byte {
	sum := sha256.Sum256(body)
	return append(append([]byte(planMagic), sum[:]...), body...)
}

func mkfifo(path string) error { return unix.Mkfifo(path, 0o600) }

// TestPlanNotOnSELinux: on a host with SELinux, whose mode may change at
// any time and decides whether a container may start unlabelled, no plan
// is stored, labels or not.
func TestPlanNotOnSELinux(t *testing.T) {
	for _, p := range []*plan{{selinux: true}, {labels: policy.Labels{Process: "system_u:system_r:container_t:s0:c1,c2"}}} {
		if p.storable() == nil {
			t.Errorf("a plan of a host with SELinux (%+v) would be stored", p.labels)
		}
	}
	if (&plan{}).storable() != nil {
		t.Error("a plan of a host without SELinux would not be stored")
	}
}
