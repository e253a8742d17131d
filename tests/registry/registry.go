package registry

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/testenv"
)

// Binary is the registry Start runs: Debian's build of the CNCF
// distribution registry (package docker-registry).
const Binary = "/usr/bin/docker-registry"

// readyTimeout bounds the wait for the registry's first answer.
const readyTimeout = 20 * time.Second

// Options configure Start.
type Options struct {
	// TLS serves HTTPS with a certificate for 127.0.0.1 and localhost,
	// signed by a CA made for this registry (Registry.CACert).
	TLS bool
	// Users, when not empty, makes every request need HTTP basic
	// authentication as one of these users (name to password), checked
	// against an htpasswd file of bcrypt hashes.
	Users map[string]string
}

// Registry is a running docker-registry.
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of image references.
	Host string
	// CACert is the PEM certificate of the CA that signed the server's
	// certificate; nil without TLS.
	CACert []byte
	// CertDir is a host directory holding only ca.crt, the layout of
	// containers-certs.d(5) that skopeo's and podman's --cert-dir read;
	// empty without TLS.
	CertDir string
	// Dir holds the registry's configuration, storage and log.
	Dir string

	opts Options
	proc *process
}

// process is one run of docker-registry.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has been reaped
}

// errPortTaken says another process bound the free port first.
var errPortTaken = errors.New("port taken")

// Start runs a registry for the test and waits until it answers. It is
// killed, with its process group, when the test ends. It skips the test
// (fails it in strict mode) when docker-registry, or htpasswd for Users,
// is missing.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	require(t, Binary, "docker-registry")
	if len(opts.Users) > 0 {
		require(t, "htpasswd", "apache2-utils")
	}
	// Made before the process's cleanup is registered, so that the
	// directory is removed after the process is killed.
	r := &Registry{Dir: t.TempDir(), opts: opts}
	if opts.TLS {
		ca, err := writeCerts(r.Dir)
		if err != nil {
			t.Fatalf("make the registry's certificates: %v", err)
		}
		r.CACert, r.CertDir = ca, filepath.Join(r.Dir, "ca")
	}
	if len(opts.Users) > 0 {
		if err := writeHtpasswd(filepath.Join(r.Dir, "htpasswd"), opts.Users); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	for range 5 {
		if err = r.start(t); !errors.Is(err, errPortTaken) {
			break
		}
	}
	if err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	return r
}

// require skips the test unless cmd can be run, naming its package.
func require(t testing.TB, cmd, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(cmd); err != nil {
		testenv.Skip(t, fmt.Sprintf("needs %s (Debian package %s)", cmd, pkg))
	}
}

// start runs the registry on a free port and waits for its first answer.
// Another process may take the port between its choice and the
// registry's bind: errPortTaken says to try again.
func (r *Registry) start(t testing.TB) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	r.Host = fmt.Sprintf("127.0.0.1:%d", port)
	config := filepath.Join(r.Dir, "config.yml")
	if err := os.WriteFile(config, []byte(r.config()), 0o600); err != nil {
		return err
	}
	logPath := filepath.Join(r.Dir, "registry.log")
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(Binary, "serve", config)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own group, killed as a whole at cleanup.
		Setpgid: true,
		// A test binary killed outright takes the registry along.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	r.proc = p
	host := r.Host
	t.Cleanup(func() {
		p.stop()
		if log := tail(logPath); t.Failed() && log != "" {
			t.Logf("docker-registry at %s logged:\n%s", host, log)
		}
	})
	if err := r.waitReady(); err != nil {
		p.stop()
		out := tail(logPath)
		if strings.Contains(out, "address already in use") {
			return errPortTaken
		}
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// config renders docker-registry's config.yml (distribution's
// configuration.md): filesystem storage in Dir with deletes allowed,
// only warnings logged and no access log, and TLS and htpasswd when asked.
func (r *Registry) config() string {
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\n")
	fmt.Fprintf(&b, "log:\n  level: warn\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %q\n  delete:\n    enabled: true\n", filepath.Join(r.Dir, "storage"))
	// A secret of our own: without one the registry warns at every start.
	fmt.Fprintf(&b, "http:\n  addr: %q\n  secret: %q\n", r.Host, hex.EncodeToString(secret))
	if r.opts.TLS {
		fmt.Fprintf(&b, "  tls:\n    certificate: %q\n    key: %q\n",
			filepath.Join(r.Dir, "tls", "server.crt"), filepath.Join(r.Dir, "tls", "server.key"))
	}
	if len(r.opts.Users) > 0 {
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: %q\n    path: %q\n", "dockah-test", filepath.Join(r.Dir, "htpasswd"))
	}
	return b.String()
}

// waitReady polls GET /v2/ until the registry answers (401 included) or
// its process ends.
func (r *Registry) waitReady() error {
	client := r.Client()
	client.Timeout = 2 * time.Second
	deadline := time.Now().Add(readyTimeout)
	for {
		if r.proc.done() {
			return fmt.Errorf("docker-registry exited before answering: %v", r.proc.cmd.ProcessState)
		}
		resp, err := client.Get(r.URL("/v2/"))
		if err == nil {
			resp.Body.Close()
			// Only a registry says which API it speaks; another server
			// that won the port would not.
			if v := resp.Header.Get("Docker-Distribution-Api-Version"); v != "registry/2.0" {
				return fmt.Errorf("%w: %s answered without Docker-Distribution-Api-Version", errPortTaken, r.Host)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer from %s after %s: %w", r.URL("/v2/"), readyTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the process group, by the pid Start got, and waits until
// the process is reaped.
func (p *process) stop() {
	if p.done() {
		return
	}
	// The group's id is the registry's pid (Setpgid), which stays ours
	// until the Wait in start reaps it.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

// done reports whether the process has ended and been reaped.
func (p *process) done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Pid returns the registry's process id.
func (r *Registry) Pid() int { return r.proc.cmd.Process.Pid }

// Exited reports whether the registry's process has ended and been
// reaped.
func (r *Registry) Exited() bool { return r.proc.done() }

// URL returns the URL of path on the registry ("/v2/_catalog").
func (r *Registry) URL(path string) string {
	scheme := "http"
	if r.opts.TLS {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// Ref returns the image reference of repoTag ("demo/hello:1") on this
// registry.
func (r *Registry) Ref(repoTag string) string { return r.Host + "/" + repoTag }

// Client returns an HTTP client that trusts the registry's CA and uses
// no proxy.
func (r *Registry) Client() *http.Client {
	tr := &http.Transport{} // Proxy nil: never a proxy
	if r.CACert != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(r.CACert)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Creds returns "USER:PASSWORD" of the first user in name order, or ""
// without users.
func (r *Registry) Creds() string {
	names := make([]string, 0, len(r.opts.Users))
	for name := range r.opts.Users {
		names = append(names, name)
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return names[0] + ":" + r.opts.Users[names[0]]
}

// freePort returns a port on 127.0.0.1 that nothing listened on a moment
// ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeHtpasswd writes users as an htpasswd file of bcrypt hashes, made by
// "htpasswd -Bbn" (apache2-utils), the format the registry reads.
func writeHtpasswd(path string, users map[string]string) error {
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	sort.Strings(names)
	var lines []string
	for _, name := range names {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, "htpasswd", "-Bbn", name, users[name]).Output()
		cancel()
		if err != nil {
			return fmt.Errorf("hash the password of %s with htpasswd: %w", name, err)
		}
		lines = append(lines, strings.TrimSpace(string(out)))
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// tail returns the end of the registry's log, without the errors it
// logs for every blob a client probes before uploading it.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	var kept []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.Contains(line, `err.code="blob unknown"`) {
			kept = append(kept, line)
		}
	}
	if len(kept) > 20 {
		kept = kept[len(kept)-20:]
	}
	return strings.Join(kept, "\n")
}
