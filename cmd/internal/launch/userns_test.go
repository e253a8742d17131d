package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/policy"
	"github.com/dockah/dockah/unitgen"
)

func TestUserNamespaceAllocation(t *testing.T) {
	dir := t.TempDir()
	oldUID, oldGID := SubUIDFile, SubGIDFile
	t.Cleanup(func() { SubUIDFile, SubGIDFile = oldUID, oldGID })
	SubUIDFile, SubGIDFile = filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	if err := os.WriteFile(SubUIDFile, []byte("alice:100000:65536\ncontainers:3000000:200000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// No subgid file: systemd's container range.
	store := t.TempDir()
	auto := Container{UserNS: unitgen.UserNSAuto, UserNSSize: 65536}
	for _, tt := range []struct {
		name string
		c    Container
		mode Mode
		want *activation.IDMapping
	}{
		{"host", Container{UserNS: unitgen.UserNSHost}, ModeStart, nil},
		{"exec joins, allocates nothing", auto, ModeExec, nil},
		{"printed spec allocates nothing", auto, ModePrint, nil},
		{"start", auto, ModeStart, &activation.IDMapping{UID: 3000000, GID: policy.DefaultIDPool[0].Start, Size: 65536}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := userNamespace(store, "web", tt.c, tt.mode, false)
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	// A second container, transient (dockah run's): the next range of
	// the pool, recorded under VolatileRoot only.
	got, err := userNamespace(store, "db", auto, ModeStart, true)
	if err != nil || got.UID != 3065536 {
		t.Fatalf("db: %+v, %v", got, err)
	}
	durable, _ := os.ReadFile(filepath.Join(store, "userns", "ranges.json"))
	volatile, _ := os.ReadFile(filepath.Join(VolatileRoot, "userns", store, "ranges.json"))
	if strings.Contains(string(durable), `"db"`) || !strings.Contains(string(volatile), `"db"`) {
		t.Fatalf("the transient container's range is not in the volatile record only:\ndurable: %s\nvolatile: %s", durable, volatile)
	}
	// The pool is full for a third.
	if _, err := userNamespace(store, "third", Container{UserNS: unitgen.UserNSAuto, UserNSSize: 100000}, ModeStart, false); err == nil {
		t.Fatal("allocated past the end of the subuid pool")
	}
	// A bad subuid line is an error naming the file and line.
	if err := os.WriteFile(SubUIDFile, []byte("containers:x:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := IDPools(); err == nil {
		t.Fatal("a malformed containers line was accepted")
	}
}

// TestUserNamespaceExplicitMaps: a definition's uid_map and gid_map are
// the container's range, recorded; one that overlaps another container's
// range fails the start, naming it; ranges allocated later avoid them.
func TestUserNamespaceExplicitMaps(t *testing.T) {
	dir := t.TempDir()
	oldUID, oldGID := SubUIDFile, SubGIDFile
	t.Cleanup(func() { SubUIDFile, SubGIDFile = oldUID, oldGID })
	SubUIDFile, SubGIDFile = filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	for _, f := range []string{SubUIDFile, SubGIDFile} {
		if err := os.WriteFile(f, []byte("containers:1000000:200000\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store := t.TempDir()
	fixed := Container{UserNS: unitgen.UserNSAuto, UserNSSize: 65536, UIDMap: 1000000, GIDMap: 1100000}
	got, err := userNamespace(store, "fixed", fixed, ModeStart, false)
	if want := (activation.IDMapping{UID: 1000000, GID: 1100000, Size: 65536}); err != nil || *got != want {
		t.Fatalf("fixed: %+v %v, want %+v", got, err, want)
	}
	auto, err := userNamespace(store, "auto", Container{UserNS: unitgen.UserNSAuto, UserNSSize: 65536}, ModeStart, false)
	if err != nil || auto.UID < 1065536 {
		t.Fatalf("auto: %+v %v: overlaps the explicit map", auto, err)
	}
	_, err = userNamespace(store, "clash", Container{UserNS: unitgen.UserNSAuto, UserNSSize: 10, UIDMap: auto.UID + 5, GIDMap: 3000000}, ModeStart, false)
	if err == nil || !strings.Contains(err.Error(), "container auto") {
		t.Fatalf("an overlapping uid_map: %v", err)
	}
}
