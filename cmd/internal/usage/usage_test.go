package usage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, line string
		want       *Process
	}{
		{"plain", "105 (sh) S 1 105 105 34816 -1 4194560 900 0 0 0 150 50 0 0 20 -5 1 0 4200 4435968 210 18446744073709551615 0",
			&Process{PID: 105, NSPid: 105, Comm: "sh", State: "S", PPID: 1, PGID: 105, TTY: 34816, CPU: 2 * time.Second,
				Nice: -5, Start: 42 * time.Second, VSize: 4435968, RSS: 210 * pageSize}},
		// A name may hold spaces and parentheses: it ends at the last ")".
		{"hostile name", "7 (a) b (c) R 2 7 7 0 -1 0 0 0 0 0 1 0 0 0 20 0 1 0 100 0 0 0",
			&Process{PID: 7, NSPid: 7, Comm: "a) b (c", State: "R", PPID: 2, PGID: 7, CPU: 10 * time.Millisecond, Start: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"", "12 sh S 1", "x (sh) S 1 2 3", "5 (sh) S 1 2 3"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q) took it", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tsleep\nUid:\t1000\t1001\t1001\t1001\nGid:\t100\t101\t101\t101\nNSpid:\t119\t3\nSeccomp:\t2\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n"
	p := &Process{PID: 119, NSPid: 119}
	if err := p.parseStatus(status); err != nil {
		t.Fatal(err)
	}
	want := &Process{PID: 119, NSPid: 3, RealUID: 1000, UID: 1001, RealGID: 100, GID: 101, Seccomp: "filter",
		CapInh: "0000000000000000", CapPrm: "00000000a80425fb", CapEff: "00000000a80425fb", CapBnd: "00000000a80425fb"}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := (&Process{}).parseStatus("Name:\tx\n"); err == nil {
		t.Error("a status without ids was taken")
	}
}

func TestParseCmdline(t *testing.T) {
	tests := map[string][]string{
		"":                         nil,
		"sleep\x00100000\x00":      {"sleep", "100000"},
		"/bin/sh\x00-c\x00a b\x00": {"/bin/sh", "-c", "a b"},
		"nginx: worker process":    {"nginx: worker process"},
	}
	for in, want := range tests {
		if diff := cmp.Diff(want, ParseCmdline([]byte(in))); diff != "" {
			t.Errorf("ParseCmdline(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestCgroupFiles(t *testing.T) {
	if got := CPUStatUsage("usage_usec 2107524\nuser_usec 730508\n"); got == nil || *got != 2107524000 {
		t.Errorf("cpu.stat: %v", got)
	}
	if got := CPUStatUsage("user_usec 1\n"); got != nil {
		t.Errorf("cpu.stat without usage_usec: %v", *got)
	}
	r, w := IOStatBytes("8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n259:0 rbytes=100 wbytes=1 rios=1 wios=1\n")
	if r != 4196 || w != 513 {
		t.Errorf("io.stat: read %d write %d", r, w)
	}
	r, w = BlkioBytes("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:0 Total 12288\n8:16 Read 1\nTotal 12289\n")
	if r != 4097 || w != 8192 {
		t.Errorf("blkio: read %d write %d", r, w)
	}
	for text, want := range map[string]any{"123\n": uint64(123), "max\n": nil, "": nil} {
		got := number(text)
		if (got == nil) != (want == nil) || got != nil && *got != want.(uint64) {
			t.Errorf("number(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestNetDev(t *testing.T) {
	text := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 2000 20 0 0 0 0 0 0 300 3 0 0 0 0 0 0
`
	if rx, tx := NetDev(text); rx != 3000 || tx != 1300 {
		t.Errorf("net/dev: rx %d tx %d", rx, tx)
	}
}

func TestMemoryLines(t *testing.T) {
	if n, ok := RollupPss("Rss:  1628 kB\nPss:   322 kB\nPss_Dirty: 116 kB\n"); !ok || n != 322*1024 {
		t.Errorf("Pss %d %v", n, ok)
	}
	if _, ok := RollupPss("Rss: 1 kB\n"); ok {
		t.Error("no Pss line, yet ok")
	}
	if d, err := ParseUptime("942.53 1800.10\n"); err != nil || d != 942530*time.Millisecond {
		t.Errorf("uptime %v %v", d, err)
	}
}

func TestCPUPercent(t *testing.T) {
	tests := []struct {
		name          string
		before, after uint64
		elapsed       time.Duration
		want          float64
		ok            bool
	}{
		{"idle", 5e9, 5e9, 2 * time.Second, 0, true},
		{"half a CPU", 0, 1e9, 2 * time.Second, 50, true},
		{"two CPUs", 1e9, 5e9, 2 * time.Second, 200, true},
		{"no time", 0, 1, 0, 0, false},
		{"counter reset", 9e9, 1e9, time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CPUPercent(tt.before, tt.after, tt.elapsed)
			if got != tt.want || ok != tt.ok {
				t.Errorf("CPUPercent = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestIDMapInside(t *testing.T) {
	m := ParseIDMap("         0     524288      65536\nbad line\n")
	host := ParseIDMap("0 0 4294967295\n")
	for _, tt := range []struct {
		m        IDMap
		id, want int
	}{
		{m, 524288, 0}, {m, 525288, 1000}, {m, 589823, 65535},
		{m, 589824, 65534}, {m, 0, 65534}, {m, 1000, 65534},
		{host, 0, 0}, {host, 1000, 1000},
	} {
		if got := tt.m.Inside(tt.id); got != tt.want {
			t.Errorf("%v.Inside(%d) = %d, want %d", tt.m, tt.id, got, tt.want)
		}
	}
}
