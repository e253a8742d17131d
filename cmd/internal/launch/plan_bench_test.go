package launch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/policy"
)

// BenchmarkPrepare is the shim's Prepare of a start: computed from the
// definition, the image and the policy, or read from the start plan.
// Both include what every start does (the writable layer, the init
// layer, the mount point).
func BenchmarkPrepare(b *testing.B) {
	for _, tc := range []struct {
		name  string
		plans bool
	}{{"computed", false}, {"plan", true}} {
		b.Run(tc.name, func(b *testing.B) {
			h := newPlanHost(b)
			h.start()
			o := h.options()
			o.Plans = tc.plans
			b.ReportAllocs()
			for b.Loop() {
				prep, err := Prepare("web", o)
				if err != nil || prep.FromPlan != tc.plans {
					b.Fatalf("from plan %v: %v", prep != nil && prep.FromPlan, err)
				}
			}
		})
	}
}

// BenchmarkPlanRead takes a warm start's use of the plan apart: the
// host's facts, the file's read, its decode, the check of its inputs.
func BenchmarkPlanRead(b *testing.B) {
	h := newPlanHost(b)
	h.start()
	data, err := os.ReadFile(filepath.Join(h.store.Root(), "plans", "web"))
	if err != nil {
		b.Fatal(err)
	}
	facts, err := readHostFacts()
	if err != nil {
		b.Fatal(err)
	}
	p, err := decodePlan(data, "web")
	if err != nil {
		b.Fatal(err)
	}
	fsys := os.DirFS(h.root)
	b.Run("facts", func(b *testing.B) {
		for b.Loop() {
			if _, err := readHostFacts(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := h.store.ReadPlan("web"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := decodePlan(data, "web"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		b.ReportMetric(float64(len(p.Key.Inputs)), "inputs")
		for b.Loop() {
			if err := p.Key.check(facts, fsys); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// firstPrepareEnv makes the test binary a process that runs one Prepare
// and prints how long it took (see BenchmarkPrepareFirst).
const firstPrepareEnv = "DOCKAH_TEST_FIRST_PREPARE"

// BenchmarkPrepareFirst is Prepare as the shim pays it: the first call
// in a process that has just started, its code and the types it touches
// all cold. Each iteration starts the test binary afresh; the metric is
// the median time of its one Prepare.
func BenchmarkPrepareFirst(b *testing.B) {
	for _, mode := range []string{"computed", "plan"} {
		b.Run(mode, func(b *testing.B) {
			h := newPlanHost(b)
			h.start()
			var times []time.Duration
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run", "^$")
				cmd.Env = append(os.Environ(), firstPrepareEnv+"="+strings.Join([]string{mode, h.root, h.store.Root(), h.exe, h.boot}, "\n"))
				out, err := cmd.CombinedOutput()
				d, perr := time.ParseDuration(strings.TrimSpace(string(out)))
				if err != nil || perr != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				times = append(times, d)
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds()), "µs/first-prepare")
		})
	}
}

// firstPrepare is the process BenchmarkPrepareFirst starts.
func firstPrepare() int {
	f := strings.Split(os.Getenv(firstPrepareEnv), "\n")
	if len(f) != 5 {
		return 2
	}
	factSources.exe, factSources.bootID = f[3], f[4]
	factSources.bounding = func() policy.CapSet { return policy.AllCaps() }
	o := Options{Mode: ModeStart, Definitions: os.DirFS(f[1]), StoreRoot: f[2], Plans: f[0] == "plan"}
	t0 := time.Now()
	prep, err := Prepare("web", o)
	d := time.Since(t0)
	if err != nil || prep.FromPlan != o.Plans {
		fmt.Println(err, prep != nil && prep.FromPlan)
		return 1
	}
	fmt.Println(d)
	return 0
}
