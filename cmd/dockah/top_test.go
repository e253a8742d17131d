package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dockah/dockah/cmd/internal/usage"
)

func TestTopDescriptors(t *testing.T) {
	tests := []struct {
		args []string
		want []string
		ok   bool
	}{
		{nil, defaultTopColumns, true},
		{[]string{"pid", "user"}, []string{"pid", "user"}, true},
		{[]string{"pid,cpid", "%C", "args"}, []string{"pid", "cpid", "pcpu", "args"}, true},
		{[]string{"-ef"}, nil, false},
		{[]string{"aux"}, nil, false},
		{[]string{"pid", "-o", "rss"}, nil, false},
		{[]string{"pid,"}, nil, false},
	}
	for _, tt := range tests {
		got, ok := topDescriptors(tt.args)
		if ok != tt.ok || !cmp.Equal(got, tt.want) {
			t.Errorf("topDescriptors(%q) = %q, %v; want %q, %v", tt.args, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTTYName(t *testing.T) {
	for dev, want := range map[uint64]string{
		0: "?", 136<<8 | 0: "pts/0", 136<<8 | 5: "pts/5", 137<<8 | 1: "pts/257", 0x88<<8 | 0x2<<20 | 0x3: "pts/515",
		4<<8 | 1: "tty1", 4<<8 | 64: "ttyS0", 5<<8 | 1: "console", 7<<8 | 2: "7,2",
	} {
		if got := ttyName(dev); got != want {
			t.Errorf("ttyName(%#x) = %q, want %q", dev, got, want)
		}
	}
}

// topFixture is a container's init and two of its processes, one a
// zombie, as /proc and the container's passwd show them.
func topFixture() []*topProcess {
	return []*topProcess{
		{Process: usage.Process{PID: 4230, PPID: 4211, NSPid: 7, State: "Z", TTY: 136 << 8, CPU: 0, Start: 990 * time.Second, Comm: "true", CapEff: "0000000000000000",
			UID: 1000, RealUID: 1000, Seccomp: "filter"}, User: "app", RealUser: "app", HostUser: "1000", Label: "-"},
		{Process: usage.Process{PID: 4211, PPID: 4190, NSPid: 1, State: "S", CPU: 1500 * time.Millisecond, Start: 700 * time.Second,
			Comm: "nginx", Args: []string{"nginx", "-g", "daemon off;"}, VSize: 10 << 20, RSS: 4 << 20, Seccomp: "filter",
			CapEff: "00000000a80425fb"}, User: "root", RealUser: "root", HostUser: "root", Label: "-"},
		{Process: usage.Process{PID: 4225, PPID: 4211, NSPid: 5, State: "R", CPU: 3 * time.Minute, Start: 800 * time.Second, Nice: 5,
			Comm: "nginx", Args: []string{"nginx: worker process"}, UID: 33, RealUID: 33, Seccomp: "filter", CapEff: "0000000000000000"}, User: "www-data", RealUser: "www-data", HostUser: "33", Label: "-"},
	}
}

func TestTopOutput(t *testing.T) {
	const uptime = 1000 * time.Second
	var out bytes.Buffer
	if err := printTop(&out, topFixture(), defaultTopColumns, uptime); err != nil {
		t.Fatal(err)
	}
	columns, _ := topDescriptors([]string{"pid,cpid,ppid", "huser", "state", "nice", "vsz", "rss", "seccomp", "capeff", "comm"})
	if err := printTop(&out, topFixture(), columns, uptime); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "top.txt", out.String())
}

func TestPsLinesOf(t *testing.T) {
	ps := `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root        4211    4190  0 10:01 ?        00:00:00 nginx -g daemon off;
www-data    4225    4211  0 10:01 ?        00:00:03 nginx: worker process
root        4211    4190  0 10:01 ?        00:00:00 not a pid: 4225 9999
`
	got, err := psLinesOf(ps, []int{4211, 4225})
	want := `UID          PID    PPID  C STIME TTY          TIME CMD
root        4211    4190  0 10:01 ?        00:00:00 nginx -g daemon off;
www-data    4225    4211  0 10:01 ?        00:00:03 nginx: worker process
root        4211    4190  0 10:01 ?        00:00:00 not a pid: 4225 9999
`
	if err != nil || got != want {
		t.Errorf("psLinesOf: %v\n%s", err, got)
	}
	if _, err := psLinesOf("USER COMMAND\nroot init\n", []int{1}); err == nil {
		t.Error("ps output without a PID column was taken")
	}
}
