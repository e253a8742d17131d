package unitgen

import (
	"strings"
	"testing"
	"time"
)

// checkTable runs a check function over values that must pass (want "")
// or fail.
func checkTable(t *testing.T, name string, check func(string) string, good, bad []string) {
	t.Helper()
	for _, s := range good {
		if msg := check(s); msg != "" {
			t.Errorf("%s(%q) = %q, want it accepted", name, s, msg)
		}
	}
	for _, s := range bad {
		if check(s) == "" {
			t.Errorf("%s(%q) accepted, want it refused", name, s)
		}
	}
}

func TestCheckImage(t *testing.T) {
	checkTable(t, "checkImage", checkImage,
		[]string{
			"nginx", "library/nginx:1.25", "docker.io/library/nginx:latest", "localhost/app",
			"localhost:5000/team/app:v1.2_3", "registry.example.com/a/b/c",
			"app@sha256:" + hex64, "app:1@sha256:" + hex64, "sha256:" + hex64, "a.b-c__d",
		},
		[]string{
			"", "Nginx", "nginx:", "nginx:-x", "nginx:.x", "app@sha256:abc", "app@md5:" + hex64,
			"sha256:" + hex64[:63], "sha256:" + hex64[:63] + "G", "/abs", "a//b", "a/", "-a", "a-",
			"bad host/x", "a.b_c/e", "nginx:" + string(make([]byte, 129)),
		})
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCheckListen(t *testing.T) {
	stream := func(s string) string { return checkListen(s, SocketStream) }
	checkTable(t, "checkListen", stream,
		[]string{"80", "65535", "127.0.0.1:8080", "0.0.0.0:1", "[::1]:443", "[::]:80", "/run/x.sock", "/run/my app/50%.sock"},
		[]string{"0", "65536", "80800", "-1", "+80", "080", "host:80", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:x",
			"[127.0.0.1]:80", "::1:80", "[::1]", "[fe80::1%eth0]:80", "relative.sock", "/" + string(make([]byte, 107)),
			"/run/x.sock ", ""})
	seq := func(s string) string { return checkListen(s, SocketSeqPacket) }
	checkTable(t, "checkListen seqpacket", seq, []string{"/run/x.sock"}, []string{"80", "127.0.0.1:80"})
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		text string
	}{
		{"512", 512, "512"},
		{"1K", 1024, "1K"},
		{"512M", 512 << 20, "512M"},
		{"384m", 384 << 20, "384M"},
		{"2g", 2 << 30, "2G"},
		{"1T", 1 << 40, "1T"},
		{"1536K", 1536 << 10, "1536K"},
		{"infinity", Unlimited, "infinity"},
	} {
		got, ok := parseSize(tc.in)
		if !ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v, want %d", tc.in, got, ok, tc.want)
		}
		if text := formatSize(got); text != tc.text {
			t.Errorf("formatSize(%d) = %q, want %q", got, text, tc.text)
		}
	}
	for _, bad := range []string{"", "M", "1.5G", "-1", "1P", "1 G", "99999999999999999999", "17179869184G"} {
		if v, ok := parseSize(bad); ok {
			t.Errorf("parseSize(%q) = %d, want it refused", bad, v)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		text string
	}{
		{"0", 0, "0h"},
		{"10", 10 * time.Second, "10s"},
		{"10s", 10 * time.Second, "10s"},
		{"5min", 5 * time.Minute, "5min"},
		{"1h 30min", 90 * time.Minute, "90min"},
		{"1h30m", 90 * time.Minute, "90min"},
		{"2.5s", 2500 * time.Millisecond, "2500ms"},
		{"500ms", 500 * time.Millisecond, "500ms"},
		{"20us", 20 * time.Microsecond, "20us"},
		{"1d", 24 * time.Hour, "24h"},
		{"2 weeks", 14 * 24 * time.Hour, "336h"},
		{"infinity", Infinity, "infinity"},
	} {
		got, ok := parseDuration(tc.in)
		if !ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v, want %v", tc.in, got, ok, tc.want)
		}
		if text := formatDuration(got); text != tc.text {
			t.Errorf("formatDuration(%v) = %q, want %q", got, text, tc.text)
		}
		if tc.want != 0 {
			if again, _ := parseDuration(formatDuration(got)); again != got {
				t.Errorf("formatDuration(%v) = %q reads back as %v", got, formatDuration(got), again)
			}
		}
	}
	for _, bad := range []string{"", "s", "5 parsecs", "1.2.3s", ".5s", "-1s", "5x", "999999999999h"} {
		if d, ok := parseDuration(bad); ok {
			t.Errorf("parseDuration(%q) = %v, want it refused", bad, d)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]string{
		"SIGTERM": "SIGTERM", "term": "SIGTERM", "sigquit": "SIGQUIT", "WINCH": "SIGWINCH",
		"RTMIN+3": "SIGRTMIN+3", "SIGRTMAX-0": "SIGRTMAX-0",
	} {
		if got, ok := parseSignal(in); !ok || got != want {
			t.Errorf("parseSignal(%q) = %q, %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "SIG", "15", "SIGSTOPP", "RTMIN+31", "RTMIN+03", "RTMIN+-1"} {
		if got, ok := parseSignal(bad); ok {
			t.Errorf("parseSignal(%q) = %q, want it refused", bad, got)
		}
	}
}

func TestParseCapability(t *testing.T) {
	for _, tc := range []struct{ in, want, hint string }{
		{"NET_ADMIN", "CAP_NET_ADMIN", ""},
		{"cap_sys_admin", "CAP_SYS_ADMIN", ""},
		{"all", "ALL", ""},
		{"checkpoint_restore", "CAP_CHECKPOINT_RESTORE", ""},
		{"NET_ADMN", "", "CAP_NET_ADMIN"},
		{"bogus", "", ""},
	} {
		name, hint := parseCapability(tc.in)
		if name != tc.want || hint != tc.hint {
			t.Errorf("parseCapability(%q) = %q, %q, want %q, %q", tc.in, name, hint, tc.want, tc.hint)
		}
	}
	if len(capabilityNames) != 41 {
		t.Errorf("%d capabilities, want 41 (CAP_CHOWN to CAP_CHECKPOINT_RESTORE)", len(capabilityNames))
	}
}

func TestCheckNames(t *testing.T) {
	checkTable(t, "checkName", checkName,
		[]string{"web", "web@", "web@blue", "db-1", "a.b_c:d", `web\x2d1`, "x@a:b"},
		[]string{"", "@", "@x", "my web", "web@b@c", "wé", "a/b", string(make([]byte, 181))})
	checkTable(t, "checkUnitName", checkUnitName,
		[]string{"multi-user.target", "db.service", "getty@tty1.service", "a.socket"},
		[]string{"multi-user", "db.conf", "getty@.service", ".service", "a b.service"})
	checkTable(t, "checkDependency", checkDependency,
		[]string{"db", "db@1", "network-online.target", "db.example"},
		[]string{"", "db@", "x@.service", "a b"})
}

func TestCheckOthers(t *testing.T) {
	checkTable(t, "checkSELinuxLevel", checkSELinuxLevel,
		[]string{"", "s0", "s0:c1,c2", "s0-s0:c0.c1023", "s15:c5"},
		[]string{"s16", "s0:c1024", "s01", "c1", "s0:", "s0:c1,", "s0:c1.c", "s0-:c1"})
	checkTable(t, "checkHostname", checkHostname,
		[]string{"web", "web-1.example.com", "a"},
		[]string{"", "-web", "web-", "a..b", "a_b", string(make([]byte, 65))})
	checkTable(t, "checkUser", checkUser,
		[]string{"www-data", "0", "1000:1000", "app:staff"},
		[]string{"", ":", "a:", ":b", "a b", "a:b:c", "a/b"})
	checkTable(t, "checkVolumeSource", checkVolumeSource,
		[]string{"/srv", "data", "my-vol_1.2"},
		[]string{"", "my vol", "-x", "_x", "/srv/../x"})
	checkTable(t, "checkAbsPath", checkAbsPath,
		[]string{"/", "/a/b/", "/a/./b"},
		[]string{"", "a", "/a/../b", "/.."})
	checkTable(t, "checkFDName", checkFDName,
		[]string{"http", "a.b-c_1"},
		[]string{"", "a:b", "a b", string(make([]byte, 65))})
}

func TestParseIDMap(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want IDMap
		msg  string
	}{
		{"0 100000 65536", IDMap{Host: 100000, Size: 65536}, ""},
		{"  0\t1 1 ", IDMap{Host: 1, Size: 1}, ""},
		{"0 4294901760 65536", IDMap{Host: 4294901760, Size: 65536}, ""},
		{"0 4294901761 65536", IDMap{}, "reaches past host ID 4294967295"},
		{"1 100000 10", IDMap{}, "does not start at container ID 0"},
		{"0 0 10", IDMap{}, "maps onto host root"},
		{"0 100000 0", IDMap{}, "has the size 0"},
		{"0 100000 1073741825", IDMap{}, "has the size 1073741825"},
		{"0 100000", IDMap{}, "is not three numbers"},
		{"0 -5 10", IDMap{}, "not a number"},
		{"0 100000 10\n0 5 5", IDMap{}, "is not three numbers"},
	} {
		got, msg := ParseIDMap(tt.in)
		if got != tt.want || !strings.Contains(msg, tt.msg) || (tt.msg == "") != (msg == "") {
			t.Errorf("ParseIDMap(%q) = %+v %q, want %+v %q", tt.in, got, msg, tt.want, tt.msg)
		}
	}
}
