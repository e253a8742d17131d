package policy

import (
	"encoding/json"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzParseSeccompProfile feeds hostile profile files to the parser. It
// must never panic, and whatever it accepts must resolve to something the
// compiler's own check accepts and must survive a JSON round trip.
func FuzzParseSeccompProfile(f *testing.F) {
	for _, path := range []string{"testdata/seccomp/custom.json", "testdata/seccomp/denylist.json"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if p, err := Seccomp(testHost); err == nil {
		data, _ := json.Marshal(p)
		f.Add(data)
	}
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"read","action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"valueTwo":2,"op":"SCMP_CMP_MASKED_EQ"}],"includes":{"caps":["sys_admin"],"arches":["amd64"],"minKernel":"4.8"}}]}`))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_TRACE","defaultErrnoRet":65535,"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X32"]}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseSeccompProfile(data, testHost)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, caps := range []CapSet{0, DefaultCaps().With(unix.CAP_SYS_ADMIN), AllCaps()} {
			s := p.Resolve(caps)
			if err := checkResolved(s); err != nil {
				t.Fatalf("parser accepted what the compiler rejects: %v", err)
			}
			if CacheKey(s) != p.cacheKey(caps) {
				t.Fatal("cache key of the profile and of its resolved form differ")
			}
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSeccompProfile(out, testHost)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if back.cacheKey(AllCaps()) != p.cacheKey(AllCaps()) {
			t.Fatalf("round trip changed the profile: %s", out)
		}
	})
}
