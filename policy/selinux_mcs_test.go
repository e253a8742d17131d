package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func newTestRegistry(t *testing.T) *MCSRegistry {
	t.Helper()
	reg, err := OpenMCSRegistry(filepath.Join(t.TempDir(), "selinux", "mcs"))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// pairOf parses an allocated level into its two categories.
func pairOf(t *testing.T, lvl string) (int, int) {
	t.Helper()
	var x, y int
	if _, err := fmt.Sscanf(lvl, "s0:c%d,c%d", &x, &y); err != nil || x >= y || y >= mcsCategories || lvl != pairLevel(x, y) {
		t.Fatalf("level %q is not a pair s0:cX,cY with X<Y<1024", lvl)
	}
	return x, y
}

func TestMCSAllocateStableReleaseLookup(t *testing.T) {
	reg := newTestRegistry(t)
	web, err := reg.Allocate("web")
	if err != nil {
		t.Fatal(err)
	}
	pairOf(t, web)
	if again, err := reg.Allocate("web"); err != nil || again != web {
		t.Fatalf("second Allocate(web) = %q, %v; want %q", again, err, web)
	}
	// Another registry value over the same directory: another shim.
	other, err := OpenMCSRegistry(reg.dir)
	if err != nil {
		t.Fatal(err)
	}
	if lvl, ok, err := other.Lookup("web"); err != nil || !ok || lvl != web {
		t.Fatalf("Lookup from another opener = %q %v %v", lvl, ok, err)
	}
	db, err := other.Allocate("db@1")
	if err != nil || db == web {
		t.Fatalf("Allocate(db@1) = %q, %v", db, err)
	}
	if err := reg.Release("web"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := reg.Lookup("web"); ok {
		t.Fatal("web still holds a level after Release")
	}
	if err := reg.Release("never-allocated"); err != nil {
		t.Fatalf("Release of an unknown name: %v", err)
	}
	all, err := reg.List()
	if err != nil || len(all) != 1 || all["db@1"] != db {
		t.Fatalf("List = %v, %v", all, err)
	}
	for _, bad := range []string{"", "a\nb", strings.Repeat("x", 300), "\xff"} {
		if _, err := reg.Allocate(bad); err == nil {
			t.Errorf("Allocate(%q) accepted", bad)
		}
	}
	if st, err := os.Stat(filepath.Join(reg.dir, registryName)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("registry file: %v %v", st, err)
	}
}

// TestMCSAvoidsTakenPairs forces the random source onto taken pairs.
func TestMCSAvoidsTakenPairs(t *testing.T) {
	reg := newTestRegistry(t)
	seq := []int{3, 5, 3, 5, 5, 3, 3, 3, 9, 4}
	reg.intn = func(n int) int {
		v := seq[0] % n
		if len(seq) > 1 {
			seq = seq[1:]
		}
		return v
	}
	a, err := reg.Allocate("a")
	if err != nil || a != "s0:c3,c5" {
		t.Fatalf("a = %q, %v", a, err)
	}
	// b draws (3,5) taken, (5,3) taken, (3,3) not a pair, then (9,4).
	b, err := reg.Allocate("b")
	if err != nil || b != "s0:c4,c9" {
		t.Fatalf("b = %q, %v; want s0:c4,c9", b, err)
	}
	// The random source now repeats 4: every try fails and the scan
	// from c4 finds the first free pair.
	c, err := reg.Allocate("c")
	if err != nil || c != "s0:c4,c5" {
		t.Fatalf("c = %q, %v; want s0:c4,c5", c, err)
	}
}

func TestMCSExplicitLevels(t *testing.T) {
	reg := newTestRegistry(t)
	web, err := reg.Allocate("web")
	if err != nil {
		t.Fatal(err)
	}
	x, y := pairOf(t, web)
	// An explicit level that could read web's files, or that web could
	// read, is refused.
	for _, lvl := range []string{web, fmt.Sprintf("s0:c%d.c%d", x, y), fmt.Sprintf("s0-s0:c%d,c%d,c%d", x, y, (y+1)%mcsCategories)} {
		if _, err := reg.Reserve("intruder", lvl); err == nil || !strings.Contains(err.Error(), "overlaps") {
			t.Errorf("Reserve(%s) with web at %s: %v", lvl, web, err)
		}
	}
	// Explicit levels may be shared on purpose, and are used as is.
	for _, name := range []string{"etl-1", "etl-2"} {
		if lvl, err := reg.Reserve(name, "s0:c1000,c1001"); err != nil || lvl != "s0:c1000,c1001" {
			t.Fatalf("Reserve(%s) = %q, %v", name, lvl, err)
		}
	}
	if _, err := reg.Reserve("x", "s0:c1,c2:bad"); err == nil {
		t.Error("invalid level reserved")
	}
	// A container whose definition drops its level gets a pair again.
	lvl, err := reg.Allocate("etl-2")
	if err != nil || lvl == "s0:c1000,c1001" {
		t.Fatalf("Allocate after explicit = %q, %v", lvl, err)
	}
	pairOf(t, lvl)
}

// TestMCSNeverInsideAnExplicitRange fills all but two categories with an
// explicit level; every new pair must then use one of the two.
func TestMCSNeverInsideAnExplicitRange(t *testing.T) {
	reg := newTestRegistry(t)
	if _, err := reg.Reserve("big", "s0:c0.c1021"); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		lvl, err := reg.Allocate("c" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if x, y := pairOf(t, lvl); y < 1022 {
			t.Fatalf("pair c%d,c%d lies inside the explicit c0.c1021", x, y)
		}
	}
	all := newTestRegistry(t)
	if _, err := all.Reserve("everything", "s0-s0:c0.c1023"); err != nil {
		t.Fatal(err)
	}
	if _, err := all.Allocate("late"); err == nil || !strings.Contains(err.Error(), "no free category pair") {
		t.Fatalf("Allocate with every category taken: %v", err)
	}
}

func TestMCSDamagedRegistryIsNotReset(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":     "{not json",
		"bad level":   `{"version":1,"containers":{"web":{"level":"s0:c9999"}}}`,
		"new version": `{"version":2,"containers":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			reg := newTestRegistry(t)
			path := filepath.Join(reg.dir, registryName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := reg.Allocate("db"); err == nil {
				t.Fatal("allocated from a damaged registry")
			}
			if data, _ := os.ReadFile(path); string(data) != content {
				t.Fatal("the damaged registry was overwritten")
			}
		})
	}
}

// TestMCSConcurrentAllocation allocates from many goroutines and several
// processes at once; no two containers may share a level.
func TestMCSConcurrentAllocation(t *testing.T) {
	reg := newTestRegistry(t)
	const procs, goroutines, each = 4, 8, 15
	got := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	record := func(name, lvl string) {
		mu.Lock()
		defer mu.Unlock()
		got[name] = lvl
	}
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), childEnv+"=mcs-allocate", "DOCKAH_POLICY_TEST_MCS="+
				fmt.Sprintf("%s|proc%d-|%d", reg.dir, p, each))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("child %d: %v\n%s", p, err, stderr.Bytes())
				return
			}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				name, lvl, _ := strings.Cut(sc.Text(), " ")
				record(name, lvl)
			}
		}()
	}
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("goroutine%d-%d", g, i)
				lvl, err := reg.Allocate(name)
				if err != nil {
					t.Error(err)
					return
				}
				record(name, lvl)
			}
		}()
	}
	wg.Wait()
	if want := (procs + goroutines) * each; len(got) != want {
		t.Fatalf("%d allocations reported, want %d", len(got), want)
	}
	all, err := reg.List()
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for name, lvl := range got {
		pairOf(t, lvl)
		if all[name] != lvl {
			t.Errorf("%s was given %s but the registry says %s", name, lvl, all[name])
		}
		if prev, dup := owner[lvl]; dup {
			t.Errorf("%s given to both %s and %s", lvl, prev, name)
		}
		owner[lvl] = name
	}
	if len(all) != len(got) {
		t.Errorf("registry holds %d containers, want %d", len(all), len(got))
	}
}

func init() { children["mcs-allocate"] = mcsAllocateChild }

// mcsAllocateChild allocates COUNT levels named PREFIXn and prints them.
func mcsAllocateChild() error {
	dir, rest, _ := strings.Cut(os.Getenv("DOCKAH_POLICY_TEST_MCS"), "|")
	prefix, count, _ := strings.Cut(rest, "|")
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	reg, err := OpenMCSRegistry(dir)
	if err != nil {
		return err
	}
	for i := range n {
		name := prefix + strconv.Itoa(i)
		lvl, err := reg.Allocate(name)
		if err != nil {
			return err
		}
		fmt.Println(name, lvl)
	}
	return nil
}
