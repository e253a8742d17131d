package policy

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMaskedPaths(t *testing.T) {
	thermal := func(n string) string { return "/sys/devices/system/cpu/cpu" + n + "/thermal_throttle" }
	tests := []struct {
		name          string
		cfg           PathConfig
		masked, notIn []string // must be in / must not be in Masked
		readOnly      []string // exactly
		err           string
	}{
		{name: "defaults",
			masked:   []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/acpi", "/sys/firmware", "/proc/interrupts", "/sys/devices/virtual/powercap", "/proc/sched_debug", "/proc/scsi", "/proc/asound", "/proc/latency_stats", "/proc/timer_stats"},
			readOnly: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
		{name: "thermal throttle per cpu", cfg: PathConfig{CPUs: []int{0, 1, 7}},
			masked: []string{thermal("0"), thermal("1"), thermal("7")}, notIn: []string{thermal("2")},
			readOnly: defaultReadOnly},
		{name: "extra masked, cleaned and deduplicated", cfg: PathConfig{Masked: []string{"/opt/secret/", "//etc//shadow", "/proc/kcore"}},
			masked: []string{"/opt/secret", "/etc/shadow"}, readOnly: defaultReadOnly},
		{name: "unmask one", cfg: PathConfig{Unmask: []string{"/proc/interrupts", "/proc/sys"}},
			notIn: []string{"/proc/interrupts"}, masked: []string{"/proc/kcore"},
			readOnly: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sysrq-trigger"}},
		{name: "unmask all", cfg: PathConfig{Unmask: []string{"all"}, CPUs: []int{0}, Masked: []string{"/opt/x"}},
			masked: []string{"/opt/x"}, notIn: []string{"/proc/kcore", thermal("0")}, readOnly: []string{}},
		{name: "unmask a thermal dir", cfg: PathConfig{Unmask: []string{thermal("1")}, CPUs: []int{0, 1}},
			masked: []string{thermal("0")}, notIn: []string{thermal("1")}, readOnly: defaultReadOnly},
		{name: "relative", cfg: PathConfig{Masked: []string{"proc/kcore"}}, err: `masked paths: "proc/kcore": not an absolute path`},
		{name: "dot dot", cfg: PathConfig{Masked: []string{"/proc/../etc"}}, err: `contains ".."`},
		{name: "root", cfg: PathConfig{Masked: []string{"//"}}, err: "the whole root"},
		{name: "unmask unknown", cfg: PathConfig{Unmask: []string{"/etc/passwd"}}, err: "unmask: /etc/passwd is not masked or read-only by default"},
		{name: "unmask bad cpu", cfg: PathConfig{Unmask: []string{"/sys/devices/system/cpu/cpuX/thermal_throttle"}}, err: "not masked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MaskedPaths(tc.cfg)
			if !checkErr(t, err, tc.err) {
				return
			}
			for _, p := range tc.masked {
				if !slices.Contains(got.Masked, p) {
					t.Errorf("%s not masked: %v", p, got.Masked)
				}
			}
			for _, p := range tc.notIn {
				if slices.Contains(got.Masked, p) {
					t.Errorf("%s masked", p)
				}
			}
			if diff := cmp.Diff(tc.readOnly, got.ReadOnly); diff != "" {
				t.Errorf("read-only (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"0-3\n", []int{0, 1, 2, 3}, true},
		{"0", []int{0}, true},
		{"0-1,4,6-7", []int{0, 1, 4, 6, 7}, true},
		{"", nil, true},
		{"3-1", nil, false},
		{"a", nil, false},
		{"0-", nil, false},
		{"-1", nil, false},
		{"0-99999", nil, false},
	}
	for _, tc := range tests {
		got, err := ParseCPUList(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("ParseCPUList(%q) = %v, %v", tc.in, got, err)
		}
	}
}
