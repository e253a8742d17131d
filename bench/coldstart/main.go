// Command coldstart measures, in one run and on one image, how long a
// socket-activated server takes to answer its first connection (connect to
// first byte, with the service stopped and the socket listening) and a
// warm connection, when the server runs as a bare systemd service (the
// floor), under dockah, and under crun and runc on the same bundle. It
// boots a systemd box (tests/box) and needs root. `make bench` runs it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// variant is one way of running the hello server behind a socket unit.
type variant struct {
	name string // also the unit name
	addr string
	note string
	cold []time.Duration
	warm []time.Duration
}

func main() {
	n := flag.Int("n", 30, "cold and warm samples per variant")
	out := flag.String("out", "", "write the markdown report here too")
	flag.Parse()
	if err := run(*n, *out); err != nil {
		fmt.Fprintf(os.Stderr, "coldstart: %v\n", err)
		os.Exit(1)
	}
}

func run(n int, out string) error {
	b, err := box.Boot(box.Options{Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	if err != nil {
		return err
	}
	defer b.Close()
	project, err := box.FindProjectDir()
	if err != nil {
		return err
	}
	variants, err := setup(b, project)
	if err != nil {
		return err
	}
	// Warm the page cache and the seccomp cache; not measured.
	for _, v := range variants {
		if _, err := cold(b, v); err != nil {
			journal, _ := b.Journal(v.name + ".service")
			return fmt.Errorf("%s: %w\n%s", v.name, err, journal)
		}
	}
	for i := 0; i < n; i++ {
		for _, v := range variants { // interleaved, so drift hits all alike
			d, err := cold(b, v)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			v.cold = append(v.cold, d)
		}
	}
	for _, v := range variants {
		for i := 0; i < n; i++ {
			d, err := firstByte(v.addr)
			if err != nil {
				return fmt.Errorf("%s warm: %w", v.name, err)
			}
			v.warm = append(v.warm, d)
		}
	}
	report := render(b, variants, n)
	fmt.Print(report)
	if out != "" {
		return os.WriteFile(out, []byte(report), 0o644)
	}
	return nil
}

// cold stops the service, keeps the socket, and times the first byte.
func cold(b *box.Box, v *variant) (time.Duration, error) {
	if _, err := b.Systemctl("stop", v.name+".service"); err != nil {
		return 0, err
	}
	if err := b.WaitUnitState(v.name+".service", 30*time.Second, "inactive", "failed"); err != nil {
		return 0, err
	}
	return firstByte(v.addr)
}

// firstByte connects, sends a request and waits for the first byte.
func firstByte(addr string) (time.Duration, error) {
	t0 := time.Now()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		return 0, err
	}
	var one [1]byte
	if _, err := c.Read(one[:]); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func setup(b *box.Box, project string) ([]*variant, error) {
	hello := filepath.Join(project, "bin/hello")
	if err := copyFile(hello, b.Path("/opt/bench/hello"), 0o755); err != nil {
		return nil, fmt.Errorf("copy bin/hello (run make build): %w", err)
	}
	if err := images.WriteTar(b.Path("/opt/bench/hello.tar"), []images.Entry{{Name: "hello", Source: hello}}); err != nil {
		return nil, err
	}
	if out, err := b.Run("dockah", "image", "import", "-q", "/opt/bench/hello.tar", "--name", "hello:bench", "--entrypoint", "/hello"); err != nil {
		return nil, fmt.Errorf("import: %w\n%s", err, out)
	}
	vs := []*variant{
		{name: "floor", addr: "127.0.0.1:18501", note: "the server as a plain systemd service, no container"},
		{name: "dockah", addr: "127.0.0.1:18502", note: "dockah-activate, default policy (seccomp, capabilities, masks, all namespaces)"},
		{name: "crun", addr: "127.0.0.1:18503", note: "crun run, same bundle, no seccomp"},
		{name: "crun-seccomp", addr: "127.0.0.1:18504", note: "crun run, same bundle with dockah's seccomp rules"},
		{name: "runc", addr: "127.0.0.1:18505", note: "runc run, same bundle with dockah's seccomp rules"},
	}
	// The benchmark starts each service far more often than systemd's
	// start rate limit allows; lift it for all variants alike.
	def := "[container]\nimage = \"hello:bench\"\nread_only = true\n\n[[socket]]\nlisten = \"" + vs[1].addr + "\"\n\n[systemd.unit]\nStartLimitIntervalSec = \"0\"\n"
	if err := b.WriteFile("/etc/dockah/containers/dockah.toml", []byte(def), 0o644); err != nil {
		return nil, err
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		return nil, err
	}
	spec, err := b.Run("dockah", "spec", "dockah")
	if err != nil {
		return nil, err
	}
	runtimes := map[string]string{
		"crun":         "/usr/bin/crun --cgroup-manager=disabled run --preserve-fds=1 --bundle /opt/bench/crun bench-crun",
		"crun-seccomp": "/usr/bin/crun --cgroup-manager=disabled run --preserve-fds=1 --bundle /opt/bench/crun-seccomp bench-crun-seccomp",
		"runc":         "/usr/sbin/runc run --bundle /opt/bench/runc bench-runc",
	}
	for name := range runtimes {
		// runc passes systemd's sockets on by itself (LISTEN_FDS in its
		// environment); crun needs --preserve-fds and LISTEN_FDS in the
		// spec, then sets LISTEN_PID=1.
		if err := writeBundle(b, "/opt/bench/"+name, spec, name != "crun", strings.HasPrefix(name, "crun")); err != nil {
			return nil, err
		}
	}
	for _, v := range vs {
		if v.name == "dockah" {
			continue
		}
		exec := "/opt/bench/hello"
		var post string
		if cmd, ok := runtimes[v.name]; ok {
			exec = cmd
			id := strings.Fields(cmd)[len(strings.Fields(cmd))-1]
			post = "ExecStopPost=-" + strings.Fields(cmd)[0] + " delete -f " + id + "\n"
		}
		if err := b.WriteFile("/etc/systemd/system/"+v.name+".socket", []byte("[Socket]\nListenStream="+v.addr+"\n"), 0o644); err != nil {
			return nil, err
		}
		if err := b.WriteFile("/etc/systemd/system/"+v.name+".service", []byte("[Unit]\nStartLimitIntervalSec=0\n\n[Service]\nExecStart="+exec+"\n"+post), 0o644); err != nil {
			return nil, err
		}
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		return nil, err
	}
	for _, v := range vs {
		if _, err := b.Systemctl("start", v.name+".socket"); err != nil {
			return nil, err
		}
	}
	return vs, nil
}

// writeBundle writes an OCI bundle of the hello image from dockah's own
// spec, so every runtime runs the same thing: a read-only root with the
// server, the same mounts, namespaces, capabilities and masked paths.
func writeBundle(b *box.Box, dir, specJSON string, seccomp, listenEnv bool) error {
	var spec map[string]any
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("parse dockah spec: %w", err)
	}
	spec["root"] = map[string]any{"path": "rootfs", "readonly": true}
	if listenEnv {
		process := spec["process"].(map[string]any)
		env, _ := process["env"].([]any)
		process["env"] = append(env, "LISTEN_FDS=1")
	}
	linux := spec["linux"].(map[string]any)
	if !seccomp {
		delete(linux, "seccomp")
	}
	mounts := spec["mounts"].([]any)
	for _, m := range mounts {
		mm := m.(map[string]any)
		var opts []any
		for _, o := range mm["options"].([]any) {
			if o != "x-dockah.optional" {
				opts = append(opts, o)
			}
		}
		mm["options"] = opts
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	if err := b.WriteFile(dir+"/config.json", data, 0o644); err != nil {
		return err
	}
	for _, d := range []string{"dev", "proc", "sys", "etc"} {
		if err := os.MkdirAll(b.Path(dir+"/rootfs/"+d), 0o755); err != nil {
			return err
		}
	}
	return copyFile(b.Path("/opt/bench/hello"), b.Path(dir+"/rootfs/hello"), 0o755)
}

func median(ds []time.Duration) time.Duration { return quantile(ds, 0.5) }

func quantile(ds []time.Duration, q float64) time.Duration {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[int(q*float64(len(s)-1)+0.5)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func render(b *box.Box, vs []*variant, n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Cold start through socket activation\n\n")
	fmt.Fprintf(&sb, "%s, cgroup layout %s, %d samples per variant, interleaved.\n", machine(), b.Layout(), n)
	fmt.Fprintf(&sb, "Cold: the service stopped, the socket listening; connect to the first byte of the answer.\n")
	fmt.Fprintf(&sb, "Warm: a new connection to the running server.\n\n")
	fmt.Fprintf(&sb, "| variant | cold median | cold p90 | cold / floor | warm median | what runs |\n|---|---|---|---|---|---|\n")
	floor := median(vs[0].cold)
	for _, v := range vs {
		fmt.Fprintf(&sb, "| %s | %s | %s | %.2fx | %s | %s |\n", v.name, ms(median(v.cold)), ms(quantile(v.cold, 0.9)),
			float64(median(v.cold))/float64(floor), ms(median(v.warm)), v.note)
	}
	fmt.Fprintf(&sb, "\nVersions: %s\n", versions(b))
	return sb.String()
}

func machine() string {
	out, _ := exec.Command("uname", "-r").Output()
	cpus, _ := exec.Command("nproc").Output()
	return fmt.Sprintf("Linux %s, %s CPUs", strings.TrimSpace(string(out)), strings.TrimSpace(string(cpus)))
}

func versions(b *box.Box) string {
	var parts []string
	for _, cmd := range [][]string{{"systemctl", "--version"}, {"crun", "--version"}, {"runc", "--version"}, {"dockah", "version"}} {
		out, _ := b.Run(cmd...)
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		parts = append(parts, first)
	}
	return strings.Join(parts, "; ")
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}
