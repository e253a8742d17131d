package activation

import (
	"strings"
	"testing"
)

// A hybrid host: v1 controllers, name=systemd and cgroup2 at unified.
const hybridMountinfo = `30 22 0:27 / /sys/fs/cgroup ro,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
41 22 0:38 /machine.slice/box /srv/my\040box ro - cgroup2 cgroup2 rw
`

func TestCgroupDirs(t *testing.T) {
	mounts, err := parseCgroupMounts(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	member, err := parseProcCgroup(strings.NewReader("12:pids:/system.slice/web.service\n4:memory:/system.slice/web.service\n2:cpu,cpuacct:/system.slice\n1:name=systemd:/system.slice/web.service\n0::/system.slice/web.service\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range member {
		if dir, ok := cgroupDir(mounts, m); ok {
			got = append(got, dir)
		} else {
			got = append(got, "-")
		}
	}
	want := "- /sys/fs/cgroup/memory/system.slice/web.service /sys/fs/cgroup/cpu,cpuacct/system.slice /sys/fs/cgroup/systemd/system.slice/web.service /sys/fs/cgroup/unified/system.slice/web.service"
	if strings.Join(got, " ") != want {
		t.Errorf("dirs\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// A hierarchy mounted from a sub-tree maps paths below it only.
	sub := []cgroupMount{mounts[len(mounts)-1]}
	if dir, ok := cgroupDir(sub, cgroupMembership{path: "/machine.slice/box/system.slice/x.service"}); !ok || dir != "/srv/my box/system.slice/x.service" {
		t.Errorf("sub-tree mount: %q %v", dir, ok)
	}
	if _, ok := cgroupDir(sub, cgroupMembership{path: "/machine.slice/boxer/x"}); ok {
		t.Error("a sibling of the mounted sub-tree must not map")
	}
	if _, err := parseProcCgroup(strings.NewReader("garbage\n")); err == nil {
		t.Error("a bad /proc/PID/cgroup line must be an error")
	}
}
