package policy

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

var testHost = SeccompConfig{Kernel: KernelVersion{6, 1}, GOARCH: "amd64"}

func TestParseSeccompProfileErrors(t *testing.T) {
	const ok = `"defaultAction": "SCMP_ACT_ERRNO"`
	rule := func(body string) string {
		return `{` + ok + `, "syscalls": [` + body + `]}`
	}
	tests := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"empty object", `{}`, []string{"defaultAction: missing", `"unconfined"`}},
		{"not an object", `[]`, []string{"must be a JSON object, not a JSON array"}},
		{"syntax", `{"defaultAction": }`, []string{"invalid JSON at byte"}},
		{"trailing data", `{` + ok + `} {}`, []string{"unexpected data after"}},
		{"unknown field", `{` + ok + `, "bogus": 1}`, []string{`unknown field "bogus"`}},
		{"bad default action", `{"defaultAction": "SCMP_ACT_FOO"}`, []string{`defaultAction: unknown action "SCMP_ACT_FOO"`, "SCMP_ACT_ALLOW"}},
		{"notify", `{"defaultAction": "SCMP_ACT_NOTIFY"}`, []string{"defaultAction: SCMP_ACT_NOTIFY is not supported"}},
		{"errno with allow", `{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}`, []string{"errnoRet is only valid with"}},
		{"errno too big", `{` + ok + `, "defaultErrnoRet": 5000}`, []string{"errno 5000 out of range"}},
		{"negative errno", `{` + ok + `, "defaultErrnoRet": -1}`, []string{"defaultErrnoRet: cannot use a JSON number"}},
		{"bad arch", `{` + ok + `, "architectures": ["SCMP_ARCH_VAX"]}`, []string{`architectures[0]: unknown architecture "SCMP_ARCH_VAX"`}},
		{"arch and archMap", `{` + ok + `, "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`, []string{"architectures and archMap"}},
		{"bad archMap", `{` + ok + `, "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["x"]}]}`, []string{"archMap[0]: architecture 1"}},
		{"bad flag", `{` + ok + `, "flags": ["SECCOMP_FILTER_FLAG_TSYNC"]}`, []string{"flags[0]: unsupported flag"}},
		{"listener", `{` + ok + `, "listenerPath": "/run/agent.sock"}`, []string{"listenerPath: seccomp user notification"}},
		{"no names", rule(`{"action": "SCMP_ACT_ALLOW"}`), []string{"syscalls[0].names: missing"}},
		{"name and names", rule(`{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}`), []string{"syscalls[0].name and .names"}},
		{"bad name", rule(`{"names": ["read", "Read!"], "action": "SCMP_ACT_ALLOW"}`), []string{`syscalls[0].names[1]: "Read!" is not a syscall name`}},
		{"bad action", rule(`{"names": ["read"], "action": "allow"}`), []string{`syscalls[0].action: unknown action "allow"`}},
		{"no action", rule(`{"names": ["read"]}`), []string{`syscalls[0].action: unknown action ""`}},
		{"bad index", rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}`), []string{"syscalls[0].args[0]: index 6 out of range 0..5"}},
		{"bad op", rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "=="}]}`), []string{`syscalls[0].args[0]: op: unknown operator "=="`, "SCMP_CMP_MASKED_EQ"}},
		{"index type", rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": "0"}]}`), []string{"syscalls.args.index: cannot use a JSON string"}},
		{"unknown cap", rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_FLY"]}}`), []string{`syscalls[0].includes.caps[0]: unknown capability "CAP_FLY"`, "SYS_ADMIN"}},
		{"bad minKernel", rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}`), []string{`syscalls[0].includes.minKernel: "4": want "X.Y"`}},
		{"zero minKernel", rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "0.0"}}`), []string{`syscalls[0].excludes.minKernel`}},
		{"bad rule arch", rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["vax"]}}`), []string{`syscalls[0].excludes.arches[0]: unknown architecture "vax"`}},
		{"several problems", rule(`{"names": ["read"], "action": "nope"}, {"names": [], "action": "SCMP_ACT_ALLOW"}`), []string{"syscalls[0].action", "syscalls[1].names: missing"}},
		{"errno on kill", rule(`{"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 1}`), []string{"syscalls[0].action: errnoRet is only valid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSeccompProfile([]byte(tc.in), testHost)
			if err == nil {
				t.Fatalf("accepted %s", tc.in)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseSeccompProfileFile(t *testing.T) {
	data, err := os.ReadFile("testdata/seccomp/custom.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseSeccompProfile(data, testHost)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source() != "" || p.Unconfined() {
		t.Errorf("source %q, unconfined %v", p.Source(), p.Unconfined())
	}
	// Rules that depend on caps or kernels follow the facts.
	if names := resolvedNames(p, DefaultCaps()); strings.Contains(names, "mount") {
		t.Errorf("mount allowed without SYS_ADMIN: %s", names)
	}
	if names := resolvedNames(p, DefaultCaps().With(unix.CAP_SYS_ADMIN)); !strings.Contains(names, "mount") {
		t.Errorf("mount not allowed with SYS_ADMIN: %s", names)
	}
	old := testHost
	old.Kernel = KernelVersion{5, 3}
	if p, _ := ParseSeccompProfile(data, old); strings.Contains(resolvedNames(p, AllCaps()), "mount") {
		t.Error("mount allowed on 5.3 despite minKernel 5.4")
	}
	if got := LoadFlags(p.Resolve(0)); got != unix.SECCOMP_FILTER_FLAG_LOG {
		t.Errorf("LoadFlags = %#x, want SECCOMP_FILTER_FLAG_LOG", got)
	}
}

func TestArchMap(t *testing.T) {
	data, err := os.ReadFile("testdata/seccomp/denylist.json")
	if err != nil {
		t.Fatal(err)
	}
	for goarch, want := range map[string]string{
		"amd64": "SCMP_ARCH_X86_64 SCMP_ARCH_X86",
		"arm64": "SCMP_ARCH_AARCH64 SCMP_ARCH_ARM",
		"s390x": "SCMP_ARCH_S390X",
	} {
		p, err := ParseSeccompProfile(data, SeccompConfig{GOARCH: goarch})
		if err != nil {
			t.Fatal(err)
		}
		if got := joinStrings(p.Resolve(0).Architectures); got != strings.ReplaceAll(want, " ", ", ") {
			t.Errorf("%s: architectures %s, want %s", goarch, got, want)
		}
	}
	if _, err := ParseSeccompProfile(data, SeccompConfig{GOARCH: "sparc64"}); err == nil {
		t.Error("unknown GOARCH accepted")
	}
}

// TestDefaultProfileRoundTrip writes the default profile as JSON, parses
// it back, and expects the same rules for every capability set.
func TestDefaultProfileRoundTrip(t *testing.T) {
	p, err := Seccomp(testHost)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSeccompProfile(data, testHost)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	for _, caps := range []CapSet{0, DefaultCaps(), DefaultCaps().With(unix.CAP_SYS_ADMIN), AllCaps()} {
		if diff := cmp.Diff(p.Resolve(caps), back.Resolve(caps)); diff != "" {
			t.Errorf("caps %s: round trip changed the profile:\n%s", caps, diff)
		}
		if p.cacheKey(caps) != back.cacheKey(caps) {
			t.Errorf("caps %s: round trip changed the cache key", caps)
		}
	}
	again, err := json.Marshal(back)
	if err != nil || string(again) != string(data) {
		t.Errorf("second marshal differs (%v)", err)
	}
	if _, err := json.Marshal(&SeccompProfile{unconfined: true}); err == nil {
		t.Error("an unconfined profile marshalled")
	}
}

func resolvedNames(p *SeccompProfile, caps CapSet) string {
	var names []string
	for _, r := range p.Resolve(caps).Syscalls {
		names = append(names, r.Names...)
	}
	return strings.Join(names, " ")
}

func TestKernelVersion(t *testing.T) {
	tests := []struct {
		in   string
		want KernelVersion
		ok   bool
	}{
		{"6.1.0-18-amd64", KernelVersion{6, 1}, true},
		{"5.15.0", KernelVersion{5, 15}, true},
		{"4.8", KernelVersion{4, 8}, true},
		{"6.12rc1", KernelVersion{6, 12}, true},
		{"6", KernelVersion{}, false},
		{"x.1", KernelVersion{}, false},
		{"", KernelVersion{}, false},
	}
	for _, tc := range tests {
		got, err := ParseKernelVersion(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseKernelVersion(%q) = %v, %v", tc.in, got, err)
		}
	}
	if !(KernelVersion{4, 4}).Less(KernelVersion{4, 8}) || (KernelVersion{5, 0}).Less(KernelVersion{4, 8}) {
		t.Error("Less is wrong")
	}
}
