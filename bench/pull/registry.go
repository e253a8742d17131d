package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// registry is a docker-registry child on 127.0.0.1, with a counting
// reverse proxy in front of it.
type registry struct {
	host    string // the registry itself, 127.0.0.1:PORT
	proxy   string // the counting proxy in front of it
	counter *counter
	cmd     *exec.Cmd
	exited  chan struct{}
	srv     *http.Server
	log     string
}

// startRegistry runs docker-registry with its configuration, storage and
// log in dir, and the proxy, and waits until the registry answers.
func startRegistry(dir string) (*registry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &registry{host: fmt.Sprintf("127.0.0.1:%d", port), log: filepath.Join(dir, "registry.log"), exited: make(chan struct{})}
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"+
		"storage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "storage"), r.host)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		return nil, err
	}
	log, err := os.Create(r.log)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	r.cmd = exec.Command("docker-registry", "serve", filepath.Join(dir, "config.yml"))
	r.cmd.Stdout, r.cmd.Stderr = log, log
	// Should this program die without its cleanup, the registry goes too.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { r.cmd.Wait(); close(r.exited) }()
	logf("docker-registry pid %d on %s", r.cmd.Process.Pid, r.host)
	if err := r.wait(); err != nil {
		r.stop()
		return nil, err
	}
	return r, r.startProxy()
}

func (r *registry) wait() error {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-r.exited:
			out, _ := os.ReadFile(r.log)
			return fmt.Errorf("docker-registry exited: %s", tail(string(out)))
		default:
		}
		if resp, err := http.Get("http://" + r.host + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("docker-registry on %s does not answer after 20s (log: %s)", r.host, r.log)
}

// stop kills the registry, by its pid, and the proxy.
func (r *registry) stop() {
	if r.srv != nil {
		r.srv.Close()
	}
	r.cmd.Process.Kill()
	<-r.exited
}

// checkManifest makes sure the registry holds ref with the layers built.
func (r *registry) checkManifest(ref string, layers []layerInfo) error {
	repo, tag, _ := strings.Cut(ref, ":")
	req, _ := http.NewRequest(http.MethodGet, "http://"+r.host+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", mediaManifest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var m manifest
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return fmt.Errorf("manifest of %s: %w", ref, err)
	}
	if len(m.Layers) != len(layers) {
		return fmt.Errorf("manifest of %s: %d layers, built %d", ref, len(m.Layers), len(layers))
	}
	for i, l := range m.Layers {
		if l.Digest != layers[i].Digest {
			return fmt.Errorf("manifest of %s: layer %d is %s, built %s (did skopeo recompress?)", ref, i, l.Digest, layers[i].Digest)
		}
	}
	return nil
}

// counter counts the response body bytes the proxy passes on, per blob
// digest or manifest.
type counter struct {
	mu       sync.Mutex
	bytes    map[string]int64
	requests int
}

func (c *counter) reset() {
	c.mu.Lock()
	c.bytes, c.requests = map[string]int64{}, 0
	c.mu.Unlock()
}

// snapshot returns the bytes per blob since the last reset, and the
// number of requests.
func (c *counter) snapshot() (map[string]int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.bytes), c.requests
}

func (r *registry) startProxy() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.proxy, r.counter = ln.Addr().String(), &counter{}
	r.counter.reset()
	target := &url.URL{Scheme: "http", Host: r.host}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the registry's Location headers name the proxy
	}}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		rp.ServeHTTP(cw, req)
		key := req.URL.Path
		if i := strings.LastIndex(key, "/blobs/"); i >= 0 {
			key = key[i+len("/blobs/"):]
		} else if i := strings.LastIndex(key, "/manifests/"); i >= 0 {
			key = "manifest " + strings.TrimPrefix(key[:i], "/v2/") + ":" + key[i+len("/manifests/"):]
		}
		r.counter.mu.Lock()
		r.counter.bytes[key] += cw.n
		r.counter.requests++
		r.counter.mu.Unlock()
	})}
	go r.srv.Serve(ln)
	return nil
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// Unwrap lets the proxy flush through the counter.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail is the end of a command's output, for an error message.
func tail(s string) string {
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return strings.TrimSpace(s)
}

// nsTarget is where podman and skopeo get a tmpfs: the host's
// /var/lib/containers, or /var/lib when there is none, so that it is not
// created.
func nsTarget() string {
	if _, err := os.Stat("/var/lib/containers"); errors.Is(err, os.ErrNotExist) {
		return "/var/lib"
	}
	return "/var/lib/containers"
}
