package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/testenv"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// goldenConfigs are the configurations whose compiled programs are kept
// under testdata/seccomp: NAME.bpf.txt (the disassembled program, tied to
// the libseccomp version) and NAME.oci.json (the resolved profile, as a
// config.json carries it). Run go test -update to rewrite them.
var goldenConfigs = []struct {
	name string
	cfg  SeccompConfig
	caps CapSet
}{
	{"default", SeccompConfig{}, DefaultCaps()},
	{"default-sys-admin", SeccompConfig{}, DefaultCaps().With(unix.CAP_SYS_ADMIN)},
	{"default-all-caps", SeccompConfig{}, AllCaps()},
	{"default-x86", SeccompConfig{Arches: []string{"x86"}}, DefaultCaps()},
	{"unconfined", SeccompConfig{Profile: SeccompUnconfined}, DefaultCaps()},
	{"custom", SeccompConfig{Profile: "testdata/seccomp/custom.json"}, DefaultCaps()},
	{"custom-sys-admin", SeccompConfig{Profile: "testdata/seccomp/custom.json"}, DefaultCaps().With(unix.CAP_SYS_ADMIN)},
	{"denylist", SeccompConfig{Profile: "testdata/seccomp/denylist.json"}, DefaultCaps()},
}

// TestDefaultProfileJSON keeps the default profile in Docker's format
// under testdata, the starting point docs/security.md points to for a
// custom profile.
func TestDefaultProfileJSON(t *testing.T) {
	p := goldenProfile(t, SeccompConfig{})
	data, err := json.MarshalIndent(p, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "seccomp", "default.profile.json"), append(data, '\n'), "")
}

// goldenProfile loads a golden configuration's profile.
func goldenProfile(t testing.TB, cfg SeccompConfig) *SeccompProfile {
	t.Helper()
	nativeArch(t)
	cfg.Kernel = KernelVersion{6, 1}
	if strings.HasPrefix(cfg.Profile, "testdata/") {
		abs, err := filepath.Abs(cfg.Profile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Profile = abs
	}
	p, err := Seccomp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func libseccompBuild() string {
	major, minor, micro := libseccompVersion()
	return fmt.Sprintf("libseccomp %d.%d.%d, %s", major, minor, micro, runtime.GOARCH)
}

// bpfGolden renders a program with a header naming what it depends on.
func bpfGolden(name string, prog Program) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n# %s\n", name, libseccompBuild())
	if prog == nil {
		b.WriteString("# no filter\n")
		return b.Bytes()
	}
	fmt.Fprintf(&b, "# %d instructions\n", prog.Len())
	b.WriteString(prog.String())
	return b.Bytes()
}

func TestSeccompGolden(t *testing.T) {
	for _, g := range goldenConfigs {
		t.Run(g.name, func(t *testing.T) {
			p := goldenProfile(t, g.cfg)
			oci, err := json.MarshalIndent(p.Resolve(g.caps), "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "seccomp", g.name+".oci.json"), append(oci, '\n'), "")
			prog, err := CompileBPF(p, g.caps)
			if err != nil {
				t.Fatal(err)
			}
			again, err := CompileBPF(p, g.caps)
			if err != nil || !bytes.Equal(prog, again) {
				t.Fatalf("compiling twice gave different programs (%v)", err)
			}
			checkGolden(t, filepath.Join("testdata", "seccomp", g.name+".bpf.txt"), bpfGolden(g.name, prog), libseccompBuild())
		})
	}
}

// checkGolden compares got with the file, or rewrites it under -update.
// A golden file made with another library version (its second line) is
// not comparable: the test says so and skips that comparison.
func checkGolden(t *testing.T, path string, got []byte, version string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if version != "" {
		lines := strings.SplitN(string(want), "\n", 3)
		if len(lines) < 2 || lines[1] != "# "+version {
			testenv.Skip(t, fmt.Sprintf("%s was made with %q, this host has %s; rerun with -update here to compare", path, strings.TrimPrefix(lines[min(1, len(lines)-1)], "# "), version))
		}
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got, run go test -update to accept):\n%s", path, diff)
	}
}
