// Command demo shows dockah's main job on this machine: it boots a real
// systemd in a copy-on-write box (the host need not run systemd), installs
// dockah there, imports an image of the hello server built from this
// repository, declares it from the shipped example definition, and shows
// the container started by its first connection: the answer, systemctl
// status, its journal and machinectl list. `make demo` runs it, as root.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

const (
	listen     = "127.0.0.1:18080"
	example    = "/usr/share/dockah/examples/hello.toml"
	definition = "/etc/dockah/containers/hello.toml"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

func run() error {
	start := time.Now()
	step("booting a systemd box (copy-on-write view of /, nothing reaches the host)")
	b, err := box.Boot(box.Options{Log: func(format string, args ...any) {
		fmt.Printf("    "+format+"\n", args...)
	}})
	if err != nil {
		return err
	}
	defer b.Close()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		_ = b.Close()
		os.Exit(130)
	}()
	project, err := box.FindProjectDir()
	if err != nil {
		return err
	}

	step("importing the hello image (bin/hello, a static server built from contrib/hello)")
	hello := []images.Entry{{Name: "hello", Source: filepath.Join(project, "bin/hello")}}
	if err := images.WriteTar(b.Path("/opt/dockah-demo/hello.tar"), hello); err != nil {
		return fmt.Errorf("package bin/hello (run make build first): %w", err)
	}
	show(b, "dockah", "image", "import", "/opt/dockah-demo/hello.tar", "--name", "hello:latest", "--entrypoint", "/hello")
	show(b, "dockah", "image", "ls")

	step("declaring the container from %s, listening on %s", example, listen)
	data, err := os.ReadFile(b.Path(example))
	if err != nil {
		return err
	}
	def := strings.Replace(string(data), `listen = "127.0.0.1:8080"`, `listen = "`+listen+`"`, 1)
	if err := b.WriteFile(definition, []byte(def), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"daemon-reload"}, {"start", "hello.socket"}} {
		if _, err := b.Systemctl(args...); err != nil {
			return err
		}
	}
	show(b, "systemctl", "cat", "--no-pager", "hello.service")
	show(b, "systemctl", "status", "--no-pager", "hello.socket", "hello.service")

	step("first connection: curl http://%s/", listen)
	t0 := time.Now()
	out, err := exec.Command("curl", "-sS", "--max-time", "10", "http://"+listen+"/").CombinedOutput()
	if err != nil {
		return fmt.Errorf("curl: %w: %s", err, out)
	}
	fmt.Printf("    answer after %s: %s", time.Since(t0).Round(time.Millisecond), out)

	step("the container systemd started for it")
	show(b, "systemctl", "status", "--no-pager", "hello.service")
	step("journalctl -u hello")
	if _, err := b.WaitJournal("hello.service", "hello: GET /", 10*time.Second); err != nil {
		return err
	}
	show(b, "journalctl", "--no-pager", "-u", "hello.service")
	step("machinectl list")
	show(b, "machinectl", "list", "--no-pager")
	step("done in %s; tearing the box down", time.Since(start).Round(time.Millisecond))
	return nil
}

// show runs a command in the box and prints its output, indented; status
// commands exit non-zero for inactive units, which is not an error here.
func show(b *box.Box, args ...string) {
	out, _ := b.Run(args...)
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		fmt.Println("    " + line)
	}
}
