package policy

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCachedBPF(t *testing.T) {
	p := goldenProfile(t, SeccompConfig{})
	dir := filepath.Join(t.TempDir(), "cache", "seccomp") // created on demand
	want, err := CompileBPF(p, DefaultCaps())
	if err != nil {
		t.Fatal(err)
	}
	prog, hit, err := CachedBPF(dir, p, DefaultCaps())
	if err != nil || hit || !bytes.Equal(prog, want) {
		t.Fatalf("first call: hit=%v err=%v, same program %v", hit, err, bytes.Equal(prog, want))
	}
	prog, hit, err = CachedBPF(dir, p, DefaultCaps())
	if err != nil || !hit || !bytes.Equal(prog, want) {
		t.Fatalf("second call: hit=%v err=%v, same program %v", hit, err, bytes.Equal(prog, want))
	}
	// The spec-level entry point shares the cache.
	prog, hit, err = Cached(dir, p.Resolve(DefaultCaps()))
	if err != nil || !hit || !bytes.Equal(prog, want) {
		t.Fatalf("Cached(resolved): hit=%v err=%v", hit, err)
	}
	// Another capability set is another program.
	if _, hit, _ := CachedBPF(dir, p, DefaultCaps().With(unix.CAP_SYS_ADMIN)); hit {
		t.Fatal("SYS_ADMIN program served from the default program's entry")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("cache holds %d files, want 2", len(entries))
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode: %v %v", st.Mode(), err)
	}
}

// TestCacheRejectsDamage corrupts a cache file every way the checks cover
// and expects a recompile (no hit) that repairs the file.
func TestCacheRejectsDamage(t *testing.T) {
	p := goldenProfile(t, SeccompConfig{})
	dir := t.TempDir()
	want, _, err := CachedBPF(dir, p, DefaultCaps())
	if err != nil {
		t.Fatal(err)
	}
	key := p.cacheKey(DefaultCaps())
	path := filepath.Join(dir, hex.EncodeToString(key[:])+cacheSuffix)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string]func([]byte) []byte{
		"empty":          func([]byte) []byte { return nil },
		"header only":    func(b []byte) []byte { return b[:cacheHeader] },
		"truncated":      func(b []byte) []byte { return b[:len(b)-3] },
		"one insn short": func(b []byte) []byte { return b[:len(b)-8] },
		"bad magic":      func(b []byte) []byte { b[0] ^= 1; return b },
		"bad version":    func(b []byte) []byte { b[8]++; return b },
		"bad count":      func(b []byte) []byte { b[12]++; return b },
		"other key":      func(b []byte) []byte { b[20] ^= 1; return b },
		"flipped bit":    func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b },
		"too long":       func(b []byte) []byte { return append(b, make([]byte, 8*maxInsns)...) },
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, f(bytes.Clone(good)), 0o600); err != nil {
				t.Fatal(err)
			}
			prog, hit, err := CachedBPF(dir, p, DefaultCaps())
			if err != nil || hit || !bytes.Equal(prog, want) {
				t.Fatalf("hit=%v err=%v same=%v", hit, err, bytes.Equal(prog, want))
			}
			if _, hit, _ := CachedBPF(dir, p, DefaultCaps()); !hit {
				t.Fatal("the damaged file was not replaced")
			}
		})
	}
}

func TestCacheWriteFailureStillReturnsProgram(t *testing.T) {
	p := goldenProfile(t, SeccompConfig{})
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	prog, hit, err := CachedBPF(file, p, DefaultCaps())
	if err == nil || hit || prog.Len() == 0 {
		t.Fatalf("prog %d insns, hit %v, err %v; want a program and an error", prog.Len(), hit, err)
	}
}

// TestCacheKey checks what the key depends on.
func TestCacheKey(t *testing.T) {
	p := goldenProfile(t, SeccompConfig{})
	caps := DefaultCaps()
	k := p.cacheKey(caps)
	if k != CacheKey(p.Resolve(caps)) {
		t.Fatal("profile key and resolved key differ")
	}
	// A capability no rule mentions yields the same program and key.
	if p.cacheKey(caps.With(unix.CAP_SYS_RESOURCE)) != k {
		t.Error("CAP_SYS_RESOURCE changed the key though no rule uses it")
	}
	distinct := map[string]CapSet{
		"SYS_ADMIN": caps.With(unix.CAP_SYS_ADMIN),
		"NET_RAW":   caps.With(unix.CAP_NET_RAW),
		"no CHROOT": caps.Without(unix.CAP_SYS_CHROOT),
	}
	for name, c := range distinct {
		if p.cacheKey(c) == k {
			t.Errorf("%s: same key as the default set", name)
		}
	}
	custom := goldenProfile(t, SeccompConfig{Profile: "testdata/seccomp/custom.json"})
	admin := caps.With(unix.CAP_SYS_ADMIN)
	newKernel := custom.cacheKey(admin)
	custom.kernel = KernelVersion{5, 3}
	if custom.cacheKey(admin) == newKernel {
		t.Error("a kernel below the profile's minKernel has the same key")
	}
	x86 := goldenProfile(t, SeccompConfig{Arches: []string{"x86"}})
	if x86.cacheKey(caps) == k {
		t.Error("adding x86 kept the key")
	}
	// Every field of the resolved form must feed the key.
	s := p.Resolve(caps)
	mutations := []func(*specs.LinuxSeccomp){
		func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActKillProcess },
		func(s *specs.LinuxSeccomp) { e := uint(13); s.DefaultErrnoRet = &e },
		func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog} },
		func(s *specs.LinuxSeccomp) { s.ListenerPath = "/x" },
		func(s *specs.LinuxSeccomp) { s.ListenerMetadata = "x" },
		func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names[0] = "x" },
		func(s *specs.LinuxSeccomp) { s.Syscalls[0].Action = specs.ActLog },
		func(s *specs.LinuxSeccomp) { e := uint(1); s.Syscalls[0].ErrnoRet = &e },
		func(s *specs.LinuxSeccomp) { s.Syscalls[2].Args[0].Value++ },
		func(s *specs.LinuxSeccomp) { s.Syscalls[2].Args[0].ValueTwo++ },
		func(s *specs.LinuxSeccomp) { s.Syscalls[2].Args[0].Index++ },
		func(s *specs.LinuxSeccomp) { s.Syscalls[2].Args[0].Op = specs.OpNotEqual },
		func(s *specs.LinuxSeccomp) { s.Architectures = append(s.Architectures, specs.ArchX32) },
	}
	for i, m := range mutations {
		c := p.Resolve(caps)
		m(c)
		if CacheKey(c) == CacheKey(s) {
			t.Errorf("mutation %d did not change the key", i)
		}
	}
	// A new field in the runtime-spec types must be added to the key.
	for typ, n := range map[reflect.Type]int{
		reflect.TypeOf(specs.LinuxSeccomp{}):    7,
		reflect.TypeOf(specs.LinuxSyscall{}):    4,
		reflect.TypeOf(specs.LinuxSeccompArg{}): 4,
	} {
		if typ.NumField() != n {
			t.Errorf("%s has %d fields, the cache key covers %d: update seccomp_key.go", typ, typ.NumField(), n)
		}
	}
}

// TestCachedConcurrently has many goroutines miss at once; all must get
// the same program and the file must end up valid.
func TestCachedConcurrently(t *testing.T) {
	p := goldenProfile(t, SeccompConfig{})
	dir := t.TempDir()
	want, err := CompileBPF(p, DefaultCaps())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prog, _, err := CachedBPF(dir, p, DefaultCaps())
			if err != nil || !bytes.Equal(prog, want) {
				t.Errorf("concurrent CachedBPF: %v", err)
			}
		}()
	}
	wg.Wait()
	if _, hit, err := CachedBPF(dir, p, DefaultCaps()); !hit || err != nil {
		t.Fatalf("after the race: hit=%v err=%v", hit, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files left, want 1 (no temp files)", len(entries))
	}
}

// BenchmarkCompile is what every start would pay without the cache.
func BenchmarkCompile(b *testing.B) {
	p := goldenProfile(b, SeccompConfig{})
	var prog Program
	for b.Loop() {
		var err error
		if prog, err = CompileBPF(p, DefaultCaps()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(prog.Len()), "insns")
}

// BenchmarkCachedHit is what a start pays with the cache warm: key,
// open, read, check.
func BenchmarkCachedHit(b *testing.B) {
	p := goldenProfile(b, SeccompConfig{})
	dir := b.TempDir()
	if _, _, err := CachedBPF(dir, p, DefaultCaps()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, hit, err := CachedBPF(dir, p, DefaultCaps()); err != nil || !hit {
			b.Fatalf("hit=%v err=%v", hit, err)
		}
	}
}

// BenchmarkSeccompProfile is the rest of the start path: choosing the
// default profile for the host.
func BenchmarkSeccompProfile(b *testing.B) {
	for b.Loop() {
		if _, err := Seccomp(testHost); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartPolicy is the rest of a start's policy without a start
// plan: both capability sets and the masked paths.
func BenchmarkStartPolicy(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, uid := range []uint32{0, 1} {
			if _, err := Capabilities(CapConfig{UID: uid, Available: AllCaps()}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := MaskedPaths(PathConfig{CPUs: []int{0, 1}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostSELinux is the check a start without a plan makes of the
// host's SELinux.
func BenchmarkHostSELinux(b *testing.B) {
	for b.Loop() {
		_ = CheckSELinux(HostSELinux(), SELinuxConfig{})
	}
}
