package activation

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCgroupPathsOf(t *testing.T) {
	unified := "55 108 0:38 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup rw\n"
	tests := []struct {
		name, mountinfo string
		want            CgroupPaths
	}{
		{"hybrid", hybridMountinfo, CgroupPaths{
			Unified: "/sys/fs/cgroup/unified/system.slice/web.service",
			Controllers: map[string]string{
				"memory":       "/sys/fs/cgroup/memory/system.slice/web.service",
				"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct/system.slice/web.service",
				"name=systemd": "/sys/fs/cgroup/systemd/system.slice/web.service",
			},
		}},
		{"unified", unified, CgroupPaths{Unified: "/sys/fs/cgroup/system.slice/web.service", Controllers: map[string]string{}}},
		{"none", "", CgroupPaths{Controllers: map[string]string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cgroupPathsIn(strings.NewReader(tt.mountinfo), "/system.slice/web.service")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
