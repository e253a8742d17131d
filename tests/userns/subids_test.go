package userns

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFirstStartWritesTheSubIDsEntry: with no "containers" entry in
// /etc/subuid and /etc/subgid, the start of a container with the default
// user namespace has dockah-subids.service (which its unit wants) write
// both, and its range lies inside them.
func TestFirstStartWritesTheSubIDsEntry(t *testing.T) {
	b := usernsBox(t)
	withoutEntry := func(file string) {
		t.Helper()
		data, err := os.ReadFile(b.Path(file))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		var kept []string
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if !strings.HasPrefix(line, "containers:") && line != "" {
				kept = append(kept, line)
			}
		}
		if err := b.WriteFile(file, []byte(strings.Join(kept, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := b.Run("systemd-analyze", "verify", "--man=no", "/usr/lib/systemd/system/dockah-subids.service"); err != nil {
		t.Fatalf("systemd-analyze verify dockah-subids.service: %v\n%s", err, out)
	}
	withoutEntry("/etc/subuid")
	withoutEntry("/etc/subgid")
	// It ran for an earlier start of this box: forget that.
	if _, err := b.Systemctl("stop", "dockah-subids.service"); err != nil {
		t.Fatal(err)
	}
	define(t, b, "uns-first", sleeper(""))
	if out, err := b.Systemctl("show", "-p", "Wants", "uns-first.service"); err != nil || !strings.Contains(out, "dockah-subids.service") {
		t.Fatalf("uns-first.service does not want dockah-subids.service: %v %s", err, out)
	}
	pid := start(t, b, "uns-first")
	if err := b.WaitUnitState("dockah-subids.service", 30*time.Second, "active"); err != nil {
		journal, _ := b.Journal("dockah-subids.service")
		t.Fatalf("%v\n%s", err, journal)
	}
	for _, c := range []struct{ file, procFile string }{{"/etc/subuid", "uid_map"}, {"/etc/subgid", "gid_map"}} {
		data, err := os.ReadFile(b.Path(c.file))
		if err != nil {
			t.Fatal(err)
		}
		var pool idMap
		for _, line := range strings.Split(string(data), "\n") {
			var start, size uint64
			if f := strings.Split(line, ":"); len(f) == 3 && f[0] == "containers" {
				if _, err := fmt.Sscan(f[1], &start); err == nil {
					if _, err := fmt.Sscan(f[2], &size); err == nil {
						pool = idMap{start, size}
					}
				}
			}
		}
		if pool.Size == 0 {
			t.Fatalf("%s has no containers entry after the first start:\n%s", c.file, data)
		}
		if m := readMap(t, b, pid, c.procFile); m.Host < pool.Host || m.Host+m.Size > pool.Host+pool.Size {
			t.Errorf("the container's %s %+v lies outside %s's entry %+v", c.procFile, m, c.file, pool)
		}
	}
}
