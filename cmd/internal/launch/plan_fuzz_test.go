package launch

import (
	"reflect"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/dockah/dockah/activation"
)

// fuzzPlan is a plan with every encoded field set.
func fuzzPlan() *plan {
	limit, period := int64(1<<30), uint64(100000)
	return &plan{
		Name: "web",
		Key: planKey{Format: planFormat, Shim: fileSig{Mode: 0o755, Size: 1, Mtime: 2, Ctime: 3, Dev: 4, Ino: 5}, BootID: "b", Bounding: 1<<41 - 1,
			Inputs: []input{{Path: "etc/dockah/containers/web.toml", FS: true, Sig: fileSig{Size: 9}}, {Path: "/x", Link: true, Sig: fileSig{Missing: true}}}},
		Container: Container{Image: "nginx", Unit: "web.service", Notify: true, StartTimeout: time.Second, IdleTimeout: -1},
		Sockets:   map[string][]socketSpec{"web": {{Port: 80}, {Datagram: true}}, "b": nil},
		Volumes:   []namedVolume{{Source: "data", Target: "/data", Copy: true}},
		ImageID:   "sha256:00", Lower: []string{"/l/a", "/l/b"}, Ephemeral: true, ReadOnly: true,
		Config: &activation.Config{
			Name: "web",
			Spec: &specs.Spec{
				Version: "1.0.2",
				Process: &specs.Process{Terminal: true, User: specs.User{UID: 1, GID: 2, AdditionalGids: []uint32{3}, Username: "u"},
					Args: []string{"a"}, Env: []string{}, Cwd: "/", Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}, Ambient: []string{}},
					Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 2, Soft: 1}}, NoNewPrivileges: true, SelinuxLabel: "l"},
				Root: &specs.Root{Path: "rootfs", Readonly: true}, Hostname: "web",
				Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid"}}},
				Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace, Path: "/p"}},
					Resources:   &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}, Pids: &specs.LinuxPids{}, CPU: &specs.LinuxCPU{Quota: &limit, Period: &period}},
					MaskedPaths: []string{"/proc/kcore"}, ReadonlyPaths: []string{"/proc/sys"}, MountLabel: "m"},
				Annotations: map[string]string{"a": "b"},
			},
			Seccomp:      []byte{1, 2, 3, 4, 5, 6, 7, 8},
			Capabilities: activation.CapabilitySets{Bounding: 1, Effective: 2, Permitted: 3, Inheritable: 4, Ambient: 5},
			Init:         true, StopSignal: 3, LoopbackUp: true,
		},
	}
}

// TestPlanRoundTrip: every field the encoding knows comes back as it
// was, nil and empty lists apart; a field it does not know stops the
// plan from being stored.
func TestPlanRoundTrip(t *testing.T) {
	p := fuzzPlan()
	if err := roundTrips(encodePlan(p), p); err != nil {
		t.Fatal(err)
	}
	oom := 5
	p.Config.Spec.Process.OOMScoreAdj = &oom
	if err := roundTrips(encodePlan(p), p); err == nil {
		t.Error("a plan with a field the encoding leaves out round-trips")
	}
}

// FuzzDecodePlan: whatever the bytes, decodePlan returns without a panic,
// and a plan it accepts encodes to the same plan again.
func FuzzDecodePlan(f *testing.F) {
	good := encodePlan(fuzzPlan())
	f.Add(good[len(planMagic)+32:])
	f.Add([]byte{})
	f.Add([]byte("\x03web\x01"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePlan(withSum(body), "web")
		if err != nil {
			return
		}
		again, err := decodePlan(encodePlan(p), "web")
		if err != nil || !reflect.DeepEqual(p, again) {
			t.Fatalf("accepted plan does not re-encode: %v", err)
		}
	})
}
