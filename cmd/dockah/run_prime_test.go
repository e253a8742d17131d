package main

import (
	"strings"
	"testing"
)

func TestCgroupIn(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"unified", "0::/user.slice/user-0.slice/session-1.scope\n", "/user.slice/user-0.slice/session-1.scope"},
		{"hybrid", "12:memory:/system.slice/a.service\n1:name=systemd:/system.slice/a.service\n0::/system.slice/a.service\n", "/system.slice/a.service"},
		{"legacy", "3:pids:/system.slice/a.service\n1:name=systemd:/system.slice/b.service\n", "/system.slice/b.service"},
		{"root", "0::/\n", "/"},
		{"outside the namespace", "0::/../../host.scope\n", ""},
		{"parent of the namespace", "0::/..\n", ""},
		{"none", "5:cpu:/x\n", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cgroupIn(strings.NewReader(tc.file))
			if tc.want == "" {
				if err == nil {
					t.Fatalf("cgroupIn = %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("cgroupIn = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMoveToOwnCgroup(t *testing.T) {
	// As root in a cgroup of its own this moves the test process where
	// it is; elsewhere it reports why not. Either way the process stays
	// in its cgroup.
	before, err := ownCgroup()
	if err != nil {
		t.Skipf("no cgroup of its own here: %v", err)
	}
	if err := moveToOwnCgroup(); err != nil {
		t.Logf("not moved: %v", err)
	}
	after, err := ownCgroup()
	if err != nil || after != before {
		t.Fatalf("cgroup after the move: %q, %v; before: %q", after, err, before)
	}
}
