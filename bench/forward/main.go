// Command forward measures dockah's forwarder against systemd-socket-proxyd
// forwarding the same traffic in the same run: the latency a forwarding
// hop adds to a new connection, and throughput, one connection and
// several at once. It boots a systemd box (tests/box) and needs root;
// `make bench` runs it.
//
// Both hops lead to the same hello server: dockah's into a container that
// binds its own port on its loopback (a forwarded [[socket]]), the
// proxy's to a plain service on the host's loopback; "direct" is that
// plain service without a hop, the floor.
package main

import (
	"github.com/dockah/dockah/bench/measure"

	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dockah/dockah/internal/deftest"
	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

const (
	dockahAddr = "127.0.0.1:18801"
	proxyAddr  = "127.0.0.1:18802"
	directAddr = "127.0.0.1:18803"
	openAddr   = "127.0.0.1:18804"
)

type variant struct{ name, addr, what string }

var variants = []variant{
	{"direct", directAddr, "the hello server as a plain service, no hop"},
	{"dockah", dockahAddr, "dockah's forwarder into the container's loopback (forwarded [[socket]], port = 8080)"},
	{"systemd-socket-proxyd", proxyAddr, "systemd-socket-proxyd, socket-activated, to the plain service"},
	{"dockah-unconfined", openAddr, "as dockah, with seccomp = \"unconfined\": what the container's system call filters cost the server"},
}

func main() {
	n := flag.Int("n", 300, "new-connection samples per variant")
	mib := flag.Int("mib", 256, "MiB per throughput transfer")
	out := flag.String("out", "bench/results/FORWARD.md", "write the report here too")
	flag.Parse()
	if err := run(*n, *mib, *out); err != nil {
		fmt.Fprintf(os.Stderr, "forward: %v\n", err)
		os.Exit(1)
	}
}

func run(n, mib int, out string) error {
	b, err := box.Boot(box.Options{Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	if err != nil {
		return err
	}
	defer b.Close()
	if err := setup(b); err != nil {
		return err
	}
	latency := map[string][]time.Duration{}
	for i := 0; i < n; i++ {
		for _, v := range variants { // interleaved
			d, err := measure.FirstByte(v.addr)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			latency[v.name] = append(latency[v.name], d)
		}
	}
	single, parallel := map[string]float64{}, map[string]float64{}
	for round := 0; round < 3; round++ {
		for _, v := range variants {
			s, err := throughput(v.addr, mib, 1)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			p, err := throughput(v.addr, mib, 4)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			single[v.name] = max(single[v.name], s)
			parallel[v.name] = max(parallel[v.name], p)
		}
	}
	report := render(latency, single, parallel, n, mib)
	fmt.Print(report)
	if out != "" {
		return os.WriteFile(out, []byte(report), 0o644)
	}
	return nil
}

func setup(b *box.Box) error {
	project, err := box.FindProjectDir()
	if err != nil {
		return err
	}
	hello := project + "/bin/hello"
	if err := images.WriteTar(b.Path("/opt/bench-fwd/hello.tar"), []images.Entry{{Name: "hello", Source: hello}}); err != nil {
		return fmt.Errorf("package bin/hello (run make build): %w", err)
	}
	if out, err := b.Run("dockah", "image", "import", "-q", "/opt/bench-fwd/hello.tar", "--name", "hello:fwd", "--entrypoint", "/hello"); err != nil {
		return fmt.Errorf("import: %w\n%s", err, out)
	}
	def := func(addr string) *deftest.Definition {
		return deftest.New("hello:fwd").
			Container(`environment = { HELLO_IGNORE_LISTEN_FDS = "1", HELLO_LISTEN = "127.0.0.1:8080" }`).
			Table("[[socket]]", `listen = "`+addr+`"`, "port = 8080")
	}
	files := map[string]string{
		"/etc/dockah/containers/fwd.toml":    def(dockahAddr).String(),
		"/etc/dockah/containers/open.toml":   def(openAddr).Table("[security]", `seccomp = "unconfined"`).String(),
		"/etc/systemd/system/direct.service": "[Service]\nExecStart=/opt/bench-fwd/hello -ignore-listen-fds -listen " + directAddr + "\n",
		"/etc/systemd/system/proxy.socket":   "[Socket]\nListenStream=" + proxyAddr + "\n",
		"/etc/systemd/system/proxy.service":  "[Unit]\nRequires=direct.service\nAfter=direct.service\n\n[Service]\nExecStart=/lib/systemd/systemd-socket-proxyd " + directAddr + "\n",
	}
	for path, text := range files {
		if err := b.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(hello)
	if err != nil {
		return err
	}
	if err := b.WriteFile("/opt/bench-fwd/hello", data, 0o755); err != nil {
		return err
	}
	for _, args := range [][]string{{"daemon-reload"}, {"start", "direct.service", "proxy.socket", "fwd.socket", "open.socket"}} {
		if _, err := b.Systemctl(args...); err != nil {
			return err
		}
	}
	// Warm every path: the container and the proxy start on the first
	// connection, which is not what is measured here.
	for _, v := range variants {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := measure.FirstByte(v.addr); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not answer on %s", v.name, v.addr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// throughput downloads mib MiB over each of conns connections at once and
// returns the total rate in MiB/s.
func throughput(addr string, mib, conns int) (float64, error) {
	url := fmt.Sprintf("http://%s/bytes?n=%d", addr, mib<<20)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	t0 := time.Now()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(url)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, err := io.Copy(io.Discard, resp.Body)
			if err == nil && got != int64(mib)<<20 {
				err = fmt.Errorf("got %d bytes of %d", got, int64(mib)<<20)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(mib*conns) / time.Since(t0).Seconds(), nil
}

func render(latency map[string][]time.Duration, single, parallel map[string]float64, n, mib int) string {
	var sb strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&sb, "# Forwarded connections: dockah against systemd-socket-proxyd\n\n")
	fmt.Fprintf(&sb, "Run %s by `make bench` (bench/forward); load average at the end: %s. ", time.Now().UTC().Format("2006-01-02 15:04 MST"), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintf(&sb, "%d new connections per variant, interleaved; throughput: the best of 3 transfers of %d MiB.\n\n", n, mib)
	fmt.Fprintf(&sb, "| variant | new connection to first byte, median | p90 | added to direct (median) | throughput, 1 connection | 4 connections | what forwards |\n|---|---|---|---|---|---|---|\n")
	base := measure.Quantile(latency["direct"], 0.5)
	for _, v := range variants {
		med := measure.Quantile(latency[v.name], 0.5)
		fmt.Fprintf(&sb, "| %s | %.3f ms | %.3f ms | %+.3f ms | %.0f MiB/s | %.0f MiB/s | %s |\n", v.name,
			measure.Millis(med), measure.Millis(measure.Quantile(latency[v.name], 0.9)), measure.Millis(med-base), single[v.name], parallel[v.name], v.what)
	}
	return sb.String()
}
