// Command demo shows dockah's main job on this machine: it boots a real
// systemd in a copy-on-write box (the host need not run systemd), installs
// dockah there, and shows a socket-activated service started by its first
// connection, with its journal. `make demo` runs it, as root.
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
)

const listen = "127.0.0.1:18080"

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
	step("installing the hello server and a socket on %s", listen)
	hello := b.Path("/opt/dockah-demo/hello")
	if err := os.MkdirAll(filepath.Dir(hello), 0o755); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(project, "bin/hello"), hello); err != nil {
		return fmt.Errorf("copy bin/hello (run make build first): %w", err)
	}
	units := map[string]string{
		"hello.socket":  "[Unit]\nDescription=dockah demo socket\n\n[Socket]\nListenStream=" + listen + "\n",
		"hello.service": "[Unit]\nDescription=dockah demo service\n\n[Service]\nExecStart=/opt/dockah-demo/hello\n",
	}
	for name, text := range units {
		if err := b.WriteFile("/etc/systemd/system/"+name, []byte(text), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"daemon-reload"}, {"start", "hello.socket"}} {
		if _, err := b.Systemctl(args...); err != nil {
			return err
		}
	}
	show(b, "systemctl", "status", "--no-pager", "hello.socket", "hello.service")

	step("first connection: curl http://%s/", listen)
	t0 := time.Now()
	out, err := exec.Command("curl", "-sS", "--max-time", "10", "http://"+listen+"/").CombinedOutput()
	if err != nil {
		return fmt.Errorf("curl: %w: %s", err, out)
	}
	fmt.Printf("    answer after %s: %s", time.Since(t0).Round(time.Millisecond), out)

	step("the service systemd started for it")
	show(b, "systemctl", "status", "--no-pager", "hello.service")
	step("its journal")
	if _, err := b.WaitJournal("hello.service", "hello: GET /", 10*time.Second); err != nil {
		return err
	}
	show(b, "journalctl", "--no-pager", "-u", "hello.service")
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

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}
