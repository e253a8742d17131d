package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSubIDs(t *testing.T) {
	tests := []struct {
		name, data string
		want       []IDRange
		err        string
	}{
		{name: "empty", data: ""},
		{name: "other owners only", data: "alice:100000:65536\nbob:165536:65536\n"},
		{name: "ours among others", data: "# comment\nalice:100000:65536\n\ncontainers:2147483647:2147483648\ncontainers:1000000:65536\n",
			want: []IDRange{{Start: 2147483647, Size: 2147483648}, {Start: 1000000, Size: 65536}}},
		{name: "malformed line of another owner is not ours", data: "alice:x\ncontainers:524288:65536\n", want: []IDRange{{Start: 524288, Size: 65536}}},
		{name: "missing count", data: "containers:524288\n", err: "subuid:1: \"containers:524288\": expected containers:START:COUNT"},
		{name: "not a number", data: "\ncontainers:abc:65536\n", err: "subuid:2:"},
		{name: "host root", data: "containers:0:65536\n", err: "START at least 1"},
		{name: "zero count", data: "containers:524288:0\n", err: "START at least 1"},
		{name: "wraps", data: "containers:4294967295:2\n", err: "at most 4294967296"},
		{name: "negative", data: "containers:-1:2\n", err: "subuid:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSubIDs([]byte(tt.data), "subuid", SubIDOwner)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

func TestAllocateRange(t *testing.T) {
	pool := []IDRange{{Start: 100000, Size: 200000}}
	tests := []struct {
		name  string
		pool  []IDRange
		taken []IDRange
		size  uint32
		want  uint32
		ok    bool
	}{
		{name: "empty pool", size: 10},
		{name: "first", pool: pool, size: 65536, want: 100000, ok: true},
		{name: "after one", pool: pool, taken: []IDRange{{Start: 100000, Size: 65536}}, size: 65536, want: 165536, ok: true},
		{name: "gap between", pool: pool, taken: []IDRange{{Start: 100000, Size: 10}, {Start: 100020, Size: 10}, {Start: 100040, Size: 10}}, size: 10, want: 100010, ok: true},
		{name: "gap too small", pool: pool, taken: []IDRange{{Start: 100000, Size: 10}, {Start: 100015, Size: 10}}, size: 10, want: 100025, ok: true},
		{name: "unsorted taken", pool: pool, taken: []IDRange{{Start: 100020, Size: 10}, {Start: 100000, Size: 20}}, size: 5, want: 100030, ok: true},
		{name: "taken outside pool", pool: pool, taken: []IDRange{{Start: 1, Size: 5000}}, size: 65536, want: 100000, ok: true},
		{name: "taken straddles start", pool: pool, taken: []IDRange{{Start: 99000, Size: 2000}}, size: 10, want: 101000, ok: true},
		{name: "full", pool: pool, taken: []IDRange{{Start: 100000, Size: 200000}}, size: 1},
		{name: "too big", pool: pool, size: 200001},
		{name: "exact fit", pool: pool, size: 200000, want: 100000, ok: true},
		{name: "second pool range", pool: []IDRange{{Start: 10, Size: 5}, {Start: 1000, Size: 100}}, size: 10, want: 1000, ok: true},
		{name: "top of the ID space", pool: []IDRange{{Start: 4294967286, Size: 10}}, size: 10, want: 4294967286, ok: true},
		{name: "zero size", pool: pool},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := allocateRange(tt.pool, tt.taken, tt.size)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("allocateRange = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
			if ok {
				r := IDRange{Start: got, Size: tt.size}
				for _, tk := range tt.taken {
					if r.overlaps(tk) {
						t.Fatalf("%+v overlaps taken %+v", r, tk)
					}
				}
			}
		})
	}
}

func newUserNSRegistry(t *testing.T) *UserNSRegistry {
	t.Helper()
	reg, err := OpenUserNSRegistry(filepath.Join(t.TempDir(), "userns"), "")
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestUserNSRegistryStableReleaseResize(t *testing.T) {
	reg := newUserNSRegistry(t)
	pools := Pools{UID: []IDRange{{Start: 100000, Size: 1 << 20}}, GID: []IDRange{{Start: 200000, Size: 1 << 20}}}
	a, err := reg.Allocate("a", 65536, pools)
	if err != nil {
		t.Fatal(err)
	}
	if want := (IDMapping{UID: 100000, GID: 200000, Size: 65536}); a != want {
		t.Fatalf("a = %+v, want %+v", a, want)
	}
	b, _ := reg.Allocate("b", 65536, pools)
	if b.UIDRange().overlaps(a.UIDRange()) || b.GIDRange().overlaps(a.GIDRange()) {
		t.Fatalf("b %+v overlaps a %+v", b, a)
	}
	// Stable: a second start, even with other pools, keeps the range.
	again, _ := reg.Allocate("a", 65536, Pools{UID: []IDRange{{Start: 5000000, Size: 1 << 20}}, GID: pools.GID})
	if again != a {
		t.Fatalf("a changed: %+v, then %+v", a, again)
	}
	// A new size is a new range.
	bigger, err := reg.Allocate("a", 1000, pools)
	if err != nil || bigger.Size != 1000 || bigger.UIDRange().overlaps(b.UIDRange()) {
		t.Fatalf("resize: %+v, %v", bigger, err)
	}
	if err := reg.Release("a"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Release("a"); err != nil {
		t.Fatalf("second release: %v", err)
	}
	all, _ := reg.List()
	if _, ok := all["a"]; ok || len(all) != 1 {
		t.Fatalf("after release: %v", all)
	}
	// The freed range is handed out again.
	c, _ := reg.Allocate("c", 65536, pools)
	if c.UID != 100000 {
		t.Fatalf("c = %+v, want the range a released", c)
	}
}

func TestUserNSRegistryPoolExhausted(t *testing.T) {
	reg := newUserNSRegistry(t)
	pools := Pools{UID: []IDRange{{Start: 100000, Size: 100}}, GID: []IDRange{{Start: 100000, Size: 100}}}
	if _, err := reg.Allocate("a", 60, pools); err != nil {
		t.Fatal(err)
	}
	_, err := reg.Allocate("b", 60, pools)
	if err == nil || !strings.Contains(err.Error(), "no free range") || !strings.Contains(err.Error(), "/etc/subuid") {
		t.Fatalf("err = %v", err)
	}
}

func TestUserNSRegistryDamagedIsNotReset(t *testing.T) {
	reg := newUserNSRegistry(t)
	for _, body := range []string{"{", `{"version":1,"containers":{"x":{"uid":0,"gid":1,"size":5}}}`, `{"version":9}`} {
		if err := os.WriteFile(filepath.Join(reg.dir, usernsName), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Allocate("a", 10, Pools{UID: DefaultIDPool, GID: DefaultIDPool}); err == nil {
			t.Fatalf("%s: allocated from a damaged registry", body)
		}
	}
}

// TestUserNSRegistryConcurrent allocates from many goroutines, each with
// its own open of the lock file (as separate shims would), and checks no
// two ranges overlap.
func TestUserNSRegistryConcurrent(t *testing.T) {
	reg := newUserNSRegistry(t)
	pools := Pools{UID: DefaultIDPool, GID: DefaultIDPool}
	const n = 40
	got := make([]IDMapping, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := reg.Allocate(fmt.Sprintf("c%d", i), 65536, pools)
			if err != nil {
				t.Error(err)
			}
			got[i] = m
		}()
	}
	wg.Wait()
	for i := range n {
		for j := i + 1; j < n; j++ {
			if got[i].UIDRange().overlaps(got[j].UIDRange()) || got[i].GIDRange().overlaps(got[j].GIDRange()) {
				t.Fatalf("c%d %+v overlaps c%d %+v", i, got[i], j, got[j])
			}
		}
	}
	all, _ := reg.List()
	if len(all) != n {
		t.Fatalf("%d entries, want %d", len(all), n)
	}
}

func FuzzParseSubIDs(f *testing.F) {
	f.Add([]byte("containers:524288:65536\nalice:100000:65536\n"))
	f.Add([]byte("containers:4294967295:1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ranges, err := ParseSubIDs(data, "subuid", SubIDOwner)
		if err != nil {
			return
		}
		for _, r := range ranges {
			if r.Start == 0 || r.Size == 0 || r.end() > 1<<32 {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}

// BenchmarkUserNSAllocateHeld is what every start of a container with
// userns = "auto" pays in the shim once its range exists: a shared lock
// and a read of the record, among 100 containers.
func BenchmarkUserNSAllocateHeld(b *testing.B) {
	reg, err := OpenUserNSRegistry(filepath.Join(b.TempDir(), "userns"), "")
	if err != nil {
		b.Fatal(err)
	}
	pools := Pools{UID: DefaultIDPool, GID: DefaultIDPool}
	for i := range 100 {
		if _, err := reg.Allocate(fmt.Sprintf("c%d", i), 65536, pools); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := reg.Allocate("c50", 65536, pools); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUserNSRegistryReserve: an explicit mapping is recorded, ranges
// allocated after it avoid it, and one that overlaps another container's
// range is refused with that container's name.
func TestUserNSRegistryReserve(t *testing.T) {
	reg := newUserNSRegistry(t)
	pools := Pools{UID: []IDRange{{Start: 100000, Size: 1 << 20}}, GID: []IDRange{{Start: 100000, Size: 1 << 20}}}
	fixed := IDMapping{UID: 100000, GID: 100000, Size: 65536}
	if err := reg.Reserve("fixed", fixed); err != nil {
		t.Fatal(err)
	}
	if err := reg.Reserve("fixed", fixed); err != nil {
		t.Fatalf("again: %v", err)
	}
	a, err := reg.Allocate("a", 65536, pools)
	if err != nil || a.UIDRange().overlaps(fixed.UIDRange()) {
		t.Fatalf("a = %+v (%v) overlaps the reserved %+v", a, err, fixed)
	}
	err = reg.Reserve("b", IDMapping{UID: a.UID + 10, GID: 900000, Size: 10})
	if err == nil || !strings.Contains(err.Error(), "uid_map \"0 "+strconv.Itoa(int(a.UID+10))+" 10\" of b overlaps") || !strings.Contains(err.Error(), "container a") {
		t.Fatalf("overlapping uid_map: %v", err)
	}
	err = reg.Reserve("b", IDMapping{UID: 900000, GID: 100005, Size: 10})
	if err == nil || !strings.Contains(err.Error(), "gid_map") || !strings.Contains(err.Error(), "container fixed") {
		t.Fatalf("overlapping gid_map: %v", err)
	}
	// A container may move its own reservation.
	if err := reg.Reserve("fixed", IDMapping{UID: 100010, GID: 100010, Size: 100}); err != nil {
		t.Fatal(err)
	}
}

// TestUserNSRegistryTransient: a transient container's range is recorded
// in the volatile file only, ranges of either kind avoid each other, a
// release finds either, and a container that stops being transient moves
// to the durable file. Losing the volatile file (a reboot) leaves the
// durable record as it was.
func TestUserNSRegistryTransient(t *testing.T) {
	dir, volatile := filepath.Join(t.TempDir(), "userns"), filepath.Join(t.TempDir(), "run", "userns")
	reg, err := OpenUserNSRegistry(dir, volatile)
	if err != nil {
		t.Fatal(err)
	}
	pools := Pools{UID: []IDRange{{Start: 100000, Size: 1 << 20}}, GID: []IDRange{{Start: 100000, Size: 1 << 20}}}
	kept, err := reg.Allocate("kept", 65536, pools)
	if err != nil {
		t.Fatal(err)
	}
	run, err := reg.Transient().Allocate("run", 65536, pools)
	if err != nil {
		t.Fatal(err)
	}
	if run.UIDRange().overlaps(kept.UIDRange()) {
		t.Fatalf("run %+v overlaps kept %+v", run, kept)
	}
	later, err := reg.Allocate("later", 65536, pools)
	if err != nil || later.UIDRange().overlaps(run.UIDRange()) {
		t.Fatalf("later %+v (%v) overlaps the transient run %+v", later, err, run)
	}
	records := func() (durable, vol string) {
		d, _ := os.ReadFile(filepath.Join(dir, usernsName))
		v, _ := os.ReadFile(filepath.Join(volatile, usernsName))
		return string(d), string(v)
	}
	if d, v := records(); strings.Contains(d, `"run"`) || !strings.Contains(v, `"run"`) || strings.Contains(v, `"kept"`) {
		t.Fatalf("records:\ndurable: %s\nvolatile: %s", d, v)
	}
	if again, err := reg.Allocate("run", 65536, pools); err != nil || again != run {
		t.Fatalf("run again: %+v %v, want %+v", again, err, run)
	}
	all, err := reg.List()
	if err != nil || len(all) != 3 || all["run"] != run {
		t.Fatalf("list: %v %v", all, err)
	}
	// It becomes a container of its own (dockah run without --rm, then
	// defined): the same range, recorded durably.
	if err := reg.Reserve("run", run); err != nil {
		t.Fatal(err)
	}
	if d, v := records(); !strings.Contains(d, `"run"`) || strings.Contains(v, `"run"`) {
		t.Fatalf("records after the move:\ndurable: %s\nvolatile: %s", d, v)
	}
	if _, err := reg.Transient().Allocate("gone", 65536, pools); err != nil {
		t.Fatal(err)
	}
	if err := reg.Release("gone"); err != nil {
		t.Fatal(err)
	}
	if _, v := records(); strings.Contains(v, `"gone"`) {
		t.Fatalf("released, still in the volatile record: %s", v)
	}
	// A reboot empties /run: the transient ranges go, the others stay.
	if _, err := reg.Transient().Allocate("temp", 65536, pools); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(volatile); err != nil {
		t.Fatal(err)
	}
	all, err = reg.List()
	if _, ok := all["temp"]; err != nil || ok || len(all) != 3 {
		t.Fatalf("after the volatile record went: %v %v", all, err)
	}
	// A damaged volatile record is an error, as a damaged durable one.
	if err := os.MkdirAll(volatile, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(volatile, usernsName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Allocate("new", 10, pools); err == nil || !strings.Contains(err.Error(), volatile) {
		t.Fatalf("a damaged volatile record: %v", err)
	}
}

// BenchmarkUserNSAllocateRelease is what a dockah run --rm pays in the
// registry: a new range and its release, on the disk of the test's
// temporary directory. "durable" is a container kept across boots (two
// fsyncs each way); "transient" is dockah run's, recorded in the volatile
// file (on a tmpfs in use; here the same disk, without syncs).
func BenchmarkUserNSAllocateRelease(b *testing.B) {
	for _, transient := range []bool{false, true} {
		name := map[bool]string{false: "durable", true: "transient"}[transient]
		b.Run(name, func(b *testing.B) {
			reg, err := OpenUserNSRegistry(filepath.Join(b.TempDir(), "userns"), filepath.Join(b.TempDir(), "volatile"))
			if err != nil {
				b.Fatal(err)
			}
			if transient {
				reg = reg.Transient()
			}
			pools := Pools{UID: DefaultIDPool, GID: DefaultIDPool}
			for i := range 20 {
				if _, err := reg.Allocate(fmt.Sprintf("c%d", i), 65536, pools); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if _, err := reg.Allocate("run", 65536, pools); err != nil {
					b.Fatal(err)
				}
				if err := reg.Release("run"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
