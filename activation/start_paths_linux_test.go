package activation

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/dockah/dockah/policy"
	"github.com/dockah/dockah/tests/testenv"
)

// The thread start applies the policy in C (spawn_linux.go), the setup
// stage in Go (setup_stage_linux.go and the files it calls). The test below
// starts one configuration both ways and compares what its entrypoint sees,
// so that the two cannot drift apart.

// policyProbe prints, section by section, what the container's pid 1 (the
// shell the start exec'd) holds: its status lines about credentials and
// policy, its limits, its identity and environment, its fds, its /dev, the
// paths in PROBE_PATHS as it can read them, and its mount table.
const policyProbe = `
echo "== status"
grep -E '^(Umask|Uid|Gid|Groups|NoNewPrivs|Seccomp|Seccomp_filters|Cap[A-Za-z]+|SigBlk|SigIgn|Speculation[A-Za-z_]*|Cpus_allowed_list|Mems_allowed_list):' /proc/1/status
echo "== limits"
cat /proc/1/limits
echo "== identity"
id; hostname; pwd; cat /proc/1/cgroup /proc/1/oom_score_adj; cat /proc/1/attr/current 2>&1
echo "== environment"
env | sort
echo "== fds"
ls /proc/1/fd
echo "== dev"
ls -A /dev
echo "== paths"
for p in $PROBE_PATHS; do
	if [ -d "$p" ]; then echo "$p: directory of $(ls -A "$p" 2>&1 | wc -l) entries"
	elif [ -e "$p" ]; then echo "$p: file, $(head -c 64 "$p" 2>&1 | wc -c) bytes readable"
	else echo "$p: missing"; fi
done
echo "== mountinfo"
cat /proc/1/mountinfo
`

// policyConfig is testConfig with the default policy (capabilities, masked
// and read-only paths, seccomp), rlimits, and masks of every kind the two
// ways handle apart: under /proc (after the root is entered) and elsewhere
// (before), files and directories, and paths that do not exist.
func policyConfig(t *testing.T) *Config {
	t.Helper()
	cfg := testConfig(t, "/bin/sh", "-c", policyProbe)
	caps, err := policy.Capabilities(policy.CapConfig{Available: policy.AllCaps()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Capabilities = CapabilitySets{
		Bounding: uint64(caps.Bounding), Effective: uint64(caps.Effective), Permitted: uint64(caps.Permitted),
		Inheritable: uint64(caps.Inheritable), Ambient: uint64(caps.Ambient),
	}
	paths, err := policy.MaskedPaths(policy.PathConfig{CPUs: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Spec.Linux
	l.MaskedPaths = append(paths.Masked, "/proc/driver", "/proc/no-such-file", "/sys/firmware", "/sys/no-such-dir")
	l.ReadonlyPaths = append(paths.ReadOnly, "/proc/bus", "/proc/no-such-dir")
	cfg.Seccomp = testSeccomp(t)
	proc := cfg.Spec.Process
	proc.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048}, {Type: "RLIMIT_CORE", Soft: 0, Hard: 0}}
	probed := append(append([]string{"/proc/kcore", "/proc/sys", "/sys/fs"}, l.MaskedPaths...), l.ReadonlyPaths...)
	proc.Env = append(proc.Env, "PROBE_PATHS="+strings.Join(probed, " "))
	return cfg
}

func TestStartPathsApplyTheSamePolicy(t *testing.T) {
	if !spawnAvailable {
		testenv.Skip(t, "this binary has no thread start (built without cgo): nothing to compare")
	}
	for _, tc := range []struct {
		name   string
		adjust func(*Config)
	}{
		{"root under no_new_privs", func(*Config) {}},
		{"user with ambient capabilities and no no_new_privs", func(cfg *Config) {
			// The seccomp filter then goes in before the user changes,
			// and the user's capability sets apply, ambient included.
			cfg.Spec.Process.NoNewPrivileges = false
			cfg.Spec.Process.User = specs.User{Username: "web"}
			const netBindService = 1 << 10
			cfg.UserCapabilities = CapabilitySets{
				Effective: netBindService, Permitted: netBindService, Inheritable: netBindService, Ambient: netBindService,
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := policyConfig(t)
			tc.adjust(cfg)
			// The same configuration, and the same paths, both ways:
			// one container after the other.
			t.Setenv(stageProcessEnv, "")
			if !canStartOnThread(cfg, StartOptions{Stdout: os.Stdout, Stderr: os.Stderr}) {
				t.Fatal("the configuration does not take the thread start")
			}
			onThread := probeReport(t, cfg)
			t.Setenv(stageProcessEnv, "1")
			inStage := probeReport(t, cfg)
			if diff := cmp.Diff(onThread, inStage); diff != "" {
				t.Errorf("what the container sees (-thread start +setup stage):\n%s", diff)
			}
		})
	}
}

// probeReport runs cfg (its command is policyProbe) and returns its
// output with the mount table normalized. It fails the test unless the
// probe ran to its end and saw a policy in force.
func probeReport(t *testing.T, cfg *Config) []string {
	t.Helper()
	// A writable layer never mounted before, for each run: overlayfs
	// records a first mount in it (uuid=on shows in the mount table).
	for _, dir := range []string{cfg.Root.Upper, cfg.Root.Work} {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, status := run(t, cfg)
	if status != 0 {
		t.Fatalf("exit status %d\n%s", status, out)
	}
	head, mounts, ok := strings.Cut(out, "== mountinfo\n")
	if !ok {
		t.Fatalf("the probe did not get to the mount table:\n%s", out)
	}
	for _, want := range []string{"Seccomp:\t2", "NoNewPrivs:", "CapBnd:\t", "/proc/keys: file, 0 bytes readable"} {
		if !strings.Contains(head, want) {
			t.Fatalf("the probe's output lacks %q:\n%s", want, out)
		}
	}
	var table []string
	for _, line := range strings.Split(strings.TrimSpace(mounts), "\n") {
		table = append(table, normalMount(line))
	}
	// The two ways mount in another order (the thread start mounts /proc
	// last): what counts is which mounts there are.
	sort.Strings(table)
	return append(strings.Split(head, "\n"), table...)
}

// normalMount keeps what a container sees of a mountinfo line and drops
// what differs from one mount to the next: the ids of the mount and its
// parent, the device number, and the numbers of peer groups.
func normalMount(line string) string {
	before, after, ok := strings.Cut(line, " - ")
	f := strings.Fields(before)
	if !ok || len(f) < 6 {
		return line
	}
	kept := append([]string{}, f[3:6]...) // root, mount point, options
	for _, tag := range f[6:] {
		name, _, _ := strings.Cut(tag, ":")
		kept = append(kept, name)
	}
	return fmt.Sprintf("%s - %s", strings.Join(kept, " "), after)
}
