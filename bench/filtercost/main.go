// Command filtercost tells what systemd's seccomp-based directives cost a
// cold start (issue 16): in one systemd box (tests/box) it starts, cold,
// behind a passed socket, the hello server as a plain service and the
// hello container of the generated unit, each under the whole sandbox of
// the generated unit, under its seccomp-based directives alone or without
// them, and prints the median first byte of each. With DOCKAH_TRACE=1 in
// the container's units it also prints the shim's first line ("shim:
// running"), which systemd's work before the exec delays. Run it under the
// box lock after make build:
//
//	flock /tmp/dockah-box.lock go run ./bench/filtercost -n 30
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/dockah/dockah/bench/benchimage"
	"github.com/dockah/dockah/bench/measure"
	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/unitgen"
	"golang.org/x/sys/unix"
)

// seccompKeys are the directives systemd enforces with seccomp filters
// it compiles in the forked child at every start.
var seccompKeys = map[string]bool{
	"SystemCallFilter": true, "SystemCallErrorNumber": true, "SystemCallArchitectures": true,
	"RestrictNamespaces": true, "RestrictAddressFamilies": true, "LockPersonality": true,
	"RestrictRealtime": true, "ProtectClock": true, "MemoryDenyWriteExecute": true,
}

// The directives systemd enforces with BPF programs attached to the
// unit's cgroup: IP access (IPAddressDeny=, IPAddressAllow=) and device
// access (DevicePolicy=, DeviceAllow=).
func ipKey(k string) bool     { return strings.HasPrefix(k, "IPAddress") }
func deviceKey(k string) bool { return strings.HasPrefix(k, "Device") }

type variant struct {
	name, addr string
	shim       bool
	cold       []time.Duration
	running    []time.Duration
	starts     []int64
}

func main() {
	n := flag.Int("n", 30, "samples per variant")
	only := flag.String("only", "", "comma-separated variants to run (all when empty)")
	shim = flag.String("shim", "", "install this binary as the box's shim (a build with symbols, for perf)")
	verbose = flag.Bool("v", false, "log every sample: variant, start (Unix µs), first byte (µs)")
	flag.Parse()
	box.TearDownOnSignal(logf)
	if err := run(*n, *only); err != nil {
		fmt.Fprintf(os.Stderr, "filtercost: %v\n", err)
		os.Exit(1)
	}
}

var (
	verbose *bool
	shim    *string
)

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "filtercost: "+format+"\n", args...) }

const def = "[container]\nimage = \"hello:fc\"\nread_only = true\n[[socket]]\nlisten = \"%s\"\n[systemd.unit]\nStartLimitIntervalSec = \"0\"\n"

func run(n int, only string) error {
	b, err := box.Boot(box.Options{Log: logf})
	if err != nil {
		return err
	}
	defer b.Close()
	d, err := unitgen.Parse("fc", unitgen.File{Path: "/etc/dockah/containers/fc.toml", Data: []byte(fmt.Sprintf(def, "127.0.0.1:18530"))})
	if err != nil {
		return err
	}
	sandbox := unitgen.Sandbox(d)
	var all, seccomp strings.Builder
	for _, dir := range sandbox {
		all.WriteString(dir.String() + "\n")
		if seccompKeys[dir.Key] {
			seccomp.WriteString(dir.String() + "\n")
		}
	}
	resetSeccomp, err := measure.SandboxReset(sandbox, func(k string) bool { return seccompKeys[k] })
	if err != nil {
		return err
	}
	resetFilter, err := measure.SandboxReset(sandbox, func(k string) bool { return k == "SystemCallFilter" })
	if err != nil {
		return err
	}
	resetAll, err := measure.SandboxReset(sandbox, nil)
	if err != nil {
		return err
	}
	// The directives that are not seccomp's: the private network
	// namespace systemd makes for the shim (the container makes its own
	// besides), and the cgroup's BPF programs (IP and device access).
	resetNetNS, err := measure.SandboxReset(sandbox, func(k string) bool { return k == "PrivateNetwork" })
	if err != nil {
		return err
	}
	resetBPF, err := measure.SandboxReset(sandbox, func(k string) bool { return ipKey(k) || deviceKey(k) })
	if err != nil {
		return err
	}
	resetIP, err := measure.SandboxReset(sandbox, ipKey)
	if err != nil {
		return err
	}
	resetDevices, err := measure.SandboxReset(sandbox, deviceKey)
	if err != nil {
		return err
	}
	if *shim != "" {
		data, err := os.ReadFile(*shim)
		if err != nil {
			return err
		}
		if err := b.WriteFile("/usr/libexec/dockah/dockah-activate", data, 0o755); err != nil {
			return err
		}
	}
	hello, err := os.ReadFile("bin/hello")
	if err != nil {
		return err
	}
	if err := b.WriteFile("/usr/local/bin/fc-hello", hello, 0o755); err != nil {
		return err
	}
	if err := benchimage.Import(b, "fc", benchimage.Ref{Name: "hello:fc", Entrypoint: "/hello"}); err != nil {
		return err
	}
	// hello-dep: the plain server with the dependency a generated unit
	// has on its image's pull (dockah-pull@NAME.service, skipped by its
	// condition once the image is present), to tell what that costs
	// systemd at each start.
	unitExtra := map[string]string{
		"hello-dep": "After=dockah-pull@fc-hello-dep.service\nRequires=dockah-pull@fc-hello-dep.service\n",
	}
	if err := b.WriteFile("/etc/systemd/system/dockah-pull@fc-hello-dep.service.d/50-present.conf", []byte("[Unit]\nConditionPathExists=!/etc/hostname\n"), 0o644); err != nil {
		return err
	}
	plain := map[string]string{
		"hello":         "",
		"hello-dep":     "",
		"hello-seccomp": seccomp.String(),
		"hello-sandbox": all.String(),
	}
	shims := map[string]string{
		"shim-sandbox":   "",
		"shim-nofilter":  resetFilter,
		"shim-noseccomp": resetSeccomp,
		"shim-none":      resetAll,
		"shim-nonetns":   resetNetNS,
		"shim-nobpf":     resetBPF,
		"shim-noip":      resetIP,
		"shim-nodevices": resetDevices,
	}
	var variants []*variant
	port := 18530
	want := func(name string) bool { return only == "" || strings.Contains(","+only+",", ","+name+",") }
	for _, name := range sortedKeys(plain) {
		port++
		if !want(name) {
			continue
		}
		v := &variant{name: "fc-" + name, addr: fmt.Sprintf("127.0.0.1:%d", port)}
		if err := b.WriteFile("/etc/systemd/system/"+v.name+".socket", []byte("[Socket]\nListenStream="+v.addr+"\n"), 0o644); err != nil {
			return err
		}
		unit := "[Unit]\nStartLimitIntervalSec=0\n" + unitExtra[name] + "\n[Service]\nExecStart=/usr/local/bin/fc-hello\n" + plain[name]
		if err := b.WriteFile("/etc/systemd/system/"+v.name+".service", []byte(unit), 0o644); err != nil {
			return err
		}
		variants = append(variants, v)
	}
	for _, name := range sortedKeys(shims) {
		port++
		if !want(name) {
			continue
		}
		v := &variant{name: "fc-" + name, addr: fmt.Sprintf("127.0.0.1:%d", port), shim: true}
		if err := b.WriteFile("/etc/dockah/containers/"+v.name+".toml", []byte(fmt.Sprintf(def, v.addr)), 0o644); err != nil {
			return err
		}
		dropIn := "[Service]\nEnvironment=DOCKAH_TRACE=1\n"
		if shims[name] != "" {
			dropIn += strings.TrimPrefix(shims[name], "[Service]\n")
		}
		if err := b.WriteFile("/etc/systemd/system/"+v.name+".service.d/fc.conf", []byte(dropIn), 0o644); err != nil {
			return err
		}
		variants = append(variants, v)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		return err
	}
	for _, v := range variants {
		if _, err := b.Systemctl("start", v.name+".socket"); err != nil {
			return err
		}
	}
	time.Sleep(2500 * time.Millisecond)
	shuffle := rand.New(rand.NewPCG(16, 18))
	for r := 0; r <= n; r++ {
		order := append([]*variant{}, variants...)
		shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, v := range order {
			if _, err := b.Systemctl("stop", v.name+".service"); err != nil {
				return err
			}
			if err := b.WaitUnitState(v.name+".service", 10*time.Second, "inactive", "failed"); err != nil {
				return err
			}
			time.Sleep(300 * time.Millisecond)
			t0 := time.Now()
			d, err := measure.FirstByte(v.addr)
			if err != nil {
				out, _ := b.Journal(v.name + ".service")
				return fmt.Errorf("%s: %w\n%s", v.name, err, out)
			}
			if r > 0 {
				v.cold = append(v.cold, d)
				v.starts = append(v.starts, t0.UnixMicro())
				if *verbose {
					var mono unix.Timespec
					_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
					logf("sample %s %d %d wall-mono %d", v.name, t0.UnixMicro(), d.Microseconds(), time.Now().UnixMicro()-mono.Nano()/1000)
				}
			}
		}
	}
	time.Sleep(time.Second)
	for _, v := range variants {
		if !v.shim {
			continue
		}
		journal, err := b.Run("journalctl", "--no-pager", "-o", "cat", "-u", v.name+".service")
		if err != nil {
			return err
		}
		for i, from := range v.starts {
			to := from + time.Second.Microseconds()
			if i+1 < len(v.starts) {
				to = v.starts[i+1]
			}
			if at, ok := running(journal, from, to); ok {
				v.running = append(v.running, at)
				if *verbose {
					logf("running %s %d %d", v.name, from, at.Microseconds())
				}
			}
		}
	}
	fmt.Printf("%d samples per variant, cgroup layout %s, %s\n\n", n, b.Layout(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Printf("| variant | cold first byte, median | p25 | p75 | shim: running, median |\n|---|---|---|---|---|\n")
	for _, v := range variants {
		r := "—"
		if len(v.running) > 0 {
			r = fmt.Sprintf("%.2f ms", measure.Millis(measure.Quantile(v.running, 0.5)))
		}
		fmt.Printf("| %s | %.2f ms | %.2f ms | %.2f ms | %s |\n", v.name, measure.Millis(measure.Quantile(v.cold, 0.5)),
			measure.Millis(measure.Quantile(v.cold, 0.25)), measure.Millis(measure.Quantile(v.cold, 0.75)), r)
	}
	return nil
}

// running finds the shim's first trace line in [from, to) and returns its
// time since from.
func running(journal string, from, to int64) (time.Duration, bool) {
	for _, line := range strings.Split(journal, "\n") {
		_, rest, ok := strings.Cut(line, "dockah-trace ")
		if !ok || !strings.HasSuffix(rest, " shim: running") {
			continue
		}
		var us int64
		if _, err := fmt.Sscanf(rest, "%d", &us); err != nil || us < from || us >= to {
			continue
		}
		return time.Duration(us-from) * time.Microsecond, true
	}
	return 0, false
}

func sortedKeys(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
