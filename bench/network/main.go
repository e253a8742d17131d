// Command network measures what joining a network costs a container's
// cold start (issue 17, item 8): the first byte through a passed socket
// of a container with network = "none" against the same container on a
// network, in one run, in a systemd box with a private network
// (tests/box), so that the bridges, veths and firewall tables it makes
// never touch the host's. Three variants, started in rounds whose order
// rotates (as bench/steps), each one connection from a cold unit:
//
//   - none: network = "none" (loopback only);
//   - joined: on the network "bench", which another container keeps up,
//     so the start finds the bridge and the firewall table in place (the
//     common case: an application beside its database);
//   - first: alone on the network "solo", so that each start makes the
//     bridge and the nftables table and each stop removes them.
//
// Each unit has DOCKAH_TRACE=1: the report also gives the median time the
// shim spends joining (the lock, the lease, the bridge and table checks)
// and attaching (the veth, made in parallel with the root). It needs root
// and `make build`; `make bench` runs it, or, under the box lock,
// flock /tmp/dockah-box.lock go run ./bench/network.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/bench/benchimage"
	"github.com/dockah/dockah/bench/measure"
	"github.com/dockah/dockah/tests/box"
)

type variant struct{ name, network, listen, what string }

var variants = []variant{
	{"none", "none", "127.0.0.1:18090", "`network = \"none\"`: loopback only"},
	{"joined", "bench", "127.0.0.1:18091", "on the network `bench`, whose bridge and table another container keeps"},
	{"first", "solo", "127.0.0.1:18092", "alone on the network `solo`: each start makes its bridge and table, each stop removes them"},
}

// goal is issue 17's: a start on a network at most this much slower.
const goal = 5 * time.Millisecond

func main() {
	n := flag.Int("n", 30, "cold starts per variant")
	out := flag.String("out", "bench/results/NETWORK.md", "write the report here too (\"\": nowhere)")
	flag.Parse()
	box.TearDownOnSignal(logf)
	report, err := run(*n)
	if err != nil {
		fmt.Fprintf(os.Stderr, "network: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "network: %v\n", err)
			os.Exit(1)
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "network: "+format+"\n", args...)
}

func run(n int) (string, error) {
	b, err := box.Boot(box.Options{Log: logf, PrivateNetwork: true})
	if err != nil {
		return "", err
	}
	defer b.Close()
	if err := setup(b); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	samples, err := measureStarts(b, n)
	if err != nil {
		return "", err
	}
	traces := map[string][]map[string]time.Duration{}
	for _, v := range variants {
		if traces[v.name], err = shimSteps(b, v.name); err != nil {
			return "", err
		}
	}
	return report(b, n, samples, traces), nil
}

func setup(b *box.Box) error {
	if err := benchimage.Import(b, "netbench", benchimage.Ref{Name: "hello:netbench", Entrypoint: "/hello"}); err != nil {
		return err
	}
	files := map[string]string{
		"/etc/dockah/networks/bench.toml": "[network]\nsubnet = \"10.96.0.0/24\"\n",
		"/etc/dockah/networks/solo.toml":  "[network]\nsubnet = \"10.97.0.0/24\"\n",
		// Keeps the network bench up.
		"/etc/dockah/containers/anchor.toml": "[container]\nimage = \"hello:netbench\"\nnetwork = \"bench\"\nenvironment = { HELLO_IGNORE_LISTEN_FDS = \"1\" }\n",
	}
	for _, v := range variants {
		files["/etc/dockah/containers/net-"+v.name+".toml"] = fmt.Sprintf(
			"[container]\nimage = \"hello:netbench\"\nread_only = true\nnetwork = %q\n\n[[socket]]\nlisten = %q\n\n[systemd.unit]\nStartLimitIntervalSec = \"0\"\n",
			v.network, v.listen)
		files["/etc/systemd/system/net-"+v.name+".service.d/trace.conf"] = "[Service]\nEnvironment=DOCKAH_TRACE=1\n"
	}
	for path, data := range files {
		if err := b.WriteFile(path, []byte(data), 0o644); err != nil {
			return err
		}
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		return err
	}
	units := []string{"anchor.service"}
	for _, v := range variants {
		units = append(units, "net-"+v.name+".socket")
	}
	_, err := b.Systemctl(append([]string{"start"}, units...)...)
	return err
}

// measureStarts takes n cold starts of each variant, in rounds: every
// unit stopped, 300 ms of rest, one connection, in an order that rotates
// from round to round. The connections are made from the box's network
// namespace, on a thread that joined it.
func measureStarts(b *box.Box, n int) (map[string][]time.Duration, error) {
	type result struct {
		samples map[string][]time.Duration
		err     error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine.
		runtime.LockOSThread()
		ns, err := unix.Open("/proc/"+strconv.Itoa(b.PID1())+"/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(ns, unix.CLONE_NEWNET)
			unix.Close(ns)
		}
		if err != nil {
			done <- result{err: fmt.Errorf("join the box's network namespace: %w", err)}
			return
		}
		samples := map[string][]time.Duration{}
		// The definitions must be older than the shim's racy margin for
		// the first start to store its plan.
		time.Sleep(2500 * time.Millisecond)
		for r := 0; r <= n; r++ { // round 0 warms up
			for k := range variants {
				v := variants[(r+k)%len(variants)]
				service := "net-" + v.name + ".service"
				if _, err := b.Systemctl("stop", service); err != nil {
					done <- result{err: err}
					return
				}
				if err := b.WaitUnitState(service, 10*time.Second, "inactive", "failed"); err != nil {
					done <- result{err: err}
					return
				}
				time.Sleep(300 * time.Millisecond)
				d, err := measure.FirstByte(v.listen)
				if err != nil {
					j, _ := b.Journal(service)
					done <- result{err: fmt.Errorf("%s: first byte: %w\n%s", v.name, err, j)}
					return
				}
				if r > 0 {
					samples[v.name] = append(samples[v.name], d)
				}
			}
		}
		done <- result{samples: samples}
	}()
	r := <-done
	return r.samples, r.err
}

// The shim's trace steps whose spans the report gives.
const (
	stepRunning  = "shim: running"
	stepPrepared = "shim: prepared"
	stepJoined   = "shim: networks joined"
	stepAttached = "shim: networks attached"
)

// shimSteps reads the trace lines of every start of a variant's unit
// ("dockah-trace MICROS pid=PID STEP"): per start, each step's time since
// the shim began.
func shimSteps(b *box.Box, name string) ([]map[string]time.Duration, error) {
	journal, err := b.Run("journalctl", "--no-pager", "-o", "cat", "-u", "net-"+name+".service")
	if err != nil {
		return nil, err
	}
	var starts []map[string]time.Duration
	var t0 int64
	for _, line := range strings.Split(journal, "\n") {
		_, rest, ok := strings.Cut(line, "dockah-trace ")
		if !ok {
			continue
		}
		f := strings.SplitN(rest, " ", 3)
		if len(f) < 3 {
			continue
		}
		us, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if f[2] == stepRunning {
			starts, t0 = append(starts, map[string]time.Duration{}), us
		}
		if len(starts) > 0 {
			if _, seen := starts[len(starts)-1][f[2]]; !seen {
				starts[len(starts)-1][f[2]] = time.Duration(us-t0) * time.Microsecond
			}
		}
	}
	if len(starts) > 1 {
		starts = starts[1:] // the warm-up round
	}
	return starts, nil
}

// span returns the medians, over starts, of to minus from.
func span(starts []map[string]time.Duration, from, to string) (time.Duration, bool) {
	var ds []time.Duration
	for _, s := range starts {
		a, ok1 := s[from]
		z, ok2 := s[to]
		if ok1 && ok2 {
			ds = append(ds, z-a)
		}
	}
	return measure.Quantile(ds, 0.5), len(ds) > 0
}

func report(b *box.Box, n int, samples map[string][]time.Duration, traces map[string][]map[string]time.Duration) string {
	load, _ := os.ReadFile("/proc/loadavg")
	var sb strings.Builder
	fmt.Fprintf(&sb, "# A cold start on a network against network = \"none\"\n\n")
	fmt.Fprintf(&sb, "Run %s by `go run ./bench/network` (`make bench`), in a box with a private network, cgroup layout %s; load average at the end: %s. %d cold starts per variant, interleaved (the order rotates each round); each is one connection to the unit's passed socket, timed from the connect to the first byte of the answer. Goal (issue 17): at most %s more than `none`.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), b.Layout(), strings.Join(strings.Fields(string(load))[:3], " "), n, goal)
	none := measure.Quantile(samples["none"], 0.5)
	sb.WriteString("| variant | first byte, median | p90 | added to none (median) | goal met | shim: networks joined, median | veth attached (after prepare), median | what |\n|---|---|---|---|---|---|---|---|\n")
	for _, v := range variants {
		med := measure.Quantile(samples[v.name], 0.5)
		p90 := measure.Quantile(samples[v.name], 0.9)
		met := ""
		if v.name != "none" {
			met = "yes"
			if med-none > goal {
				met = "no"
			}
		}
		joined, attached := "", ""
		if d, ok := span(traces[v.name], stepPrepared, stepJoined); ok {
			joined = fmt.Sprintf("%.3f ms", measure.Millis(d))
		}
		if d, ok := span(traces[v.name], stepPrepared, stepAttached); ok {
			attached = fmt.Sprintf("%.3f ms", measure.Millis(d))
		}
		fmt.Fprintf(&sb, "| %s | %.2f ms | %.2f ms | %+.2f ms | %s | %s | %s | %s |\n",
			v.name, measure.Millis(med), measure.Millis(p90), measure.Millis(med-none), met, joined, attached, v.what)
	}
	sb.WriteString("\n## The shim's steps, joined\n\nMedian time since the shim's configuration (prepare), over the starts of `joined`, and since the step before.\n\n| step | since prepare | since the step before |\n|---|---|---|\n")
	sb.WriteString(stepTable(traces["joined"]))
	sb.WriteString("\n\"shim: networks joined\" is the time from the shim's configuration (prepare) to its lease: the network's lock, its state file, the bridge's and the table's lookups (and, for `first`, making them). The veth is made and configured while the thread start builds the root; its column is the time from prepare to the end of that work, which the entrypoint waits for.\n")
	return sb.String()
}

// stepTable renders each traced step after prepare: the median of its
// time since prepare, ordered by it, and of its time since the step
// before in the same start.
func stepTable(starts []map[string]time.Duration) string {
	since, gap := map[string][]time.Duration{}, map[string][]time.Duration{}
	for _, s := range starts {
		p, ok := s[stepPrepared]
		if !ok {
			continue
		}
		type at struct {
			name string
			d    time.Duration
		}
		var steps []at
		for name, d := range s {
			if d >= p {
				steps = append(steps, at{name, d - p})
			}
		}
		sort.Slice(steps, func(i, j int) bool { return steps[i].d < steps[j].d })
		for i, st := range steps {
			since[st.name] = append(since[st.name], st.d)
			if i > 0 {
				gap[st.name] = append(gap[st.name], st.d-steps[i-1].d)
			}
		}
	}
	var names []string
	for name := range since {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		return measure.Quantile(since[names[i]], 0.5) < measure.Quantile(since[names[j]], 0.5)
	})
	var sb strings.Builder
	for _, name := range names {
		fmt.Fprintf(&sb, "| %s | %.3f ms | %.3f ms |\n", name, measure.Millis(measure.Quantile(since[name], 0.5)), measure.Millis(measure.Quantile(gap[name], 0.5)))
	}
	return sb.String()
}
