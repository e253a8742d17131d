package kube

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

func TestMain(m *testing.M) {
	// Pods of several containers make bridges and veths.
	box.SharedOptions.PrivateNetwork = true
	os.Exit(box.Main(m))
}

var setupOnce sync.Once

// kubeBox returns the package's box with the image kube:test: dockah's
// demo server at /hello and busybox (sh, wget, httpd, sleep).
func kubeBox(t *testing.T) *box.Box {
	t.Helper()
	b := box.Shared(t)
	setupOnce.Do(func() {
		hello := images.Build(t, "./contrib/hello", b.Path("/opt/dockah-kube"))
		entries := append(images.Busybox(t, "sh", "wget", "httpd", "sleep", "cat", "echo"), images.Entry{Name: "hello", Source: hello})
		images.Import(t, b, "kube:test", entries)
	})
	if t.Failed() {
		t.FailNow()
	}
	return b
}

// writeManifest puts a manifest in the box and returns its path there.
func writeManifest(t *testing.T, b *box.Box, name, text string) string {
	t.Helper()
	p := "/opt/kube-" + name + ".yaml"
	if err := b.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// curl asks url from the box until the answer has want.
func curl(t *testing.T, b *box.Box, url, want string) string {
	t.Helper()
	var out string
	if !box.Eventually(30*time.Second, func() bool {
		out, _ = b.Run("curl", "-s", "--max-time", "5", url)
		return strings.Contains(out, want)
	}) {
		t.Fatalf("curl %s: want %q, got %q", url, want, out)
	}
	return out
}

const shopManifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: shop
data:
  greeting: hello from a pod
---
apiVersion: v1
kind: Pod
metadata:
  name: shop
  labels:
    app: shop
spec:
  containers:
  - name: web
    image: kube:test
    imagePullPolicy: Never
    command: ["/hello"]
    env:
    - name: HELLO_IGNORE_LISTEN_FDS
      value: "1"
    - name: HELLO_LISTEN
      value: ":8080"
    - name: HELLO_GREETING
      valueFrom:
        configMapKeyRef: {name: shop, key: greeting}
    ports:
    - containerPort: 8080
      name: http
    resources:
      limits: {memory: 64Mi}
    securityContext:
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
  - name: client
    image: kube:test
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "until wget -q -O- http://web:8080/; do sleep 0.5; done; echo reached-web; exec sleep 3600"]
---
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector:
    app: shop
  ports:
  - name: http
    port: 19100
    targetPort: http
`

// TestPlayPodWithService: a Pod of two containers and its Service run;
// curl reaches the web container through the Service's port; the other
// container reaches it by its name on the Pod's network; --down removes
// the units, the definitions, the network and its bridge.
func TestPlayPodWithService(t *testing.T) {
	b := kubeBox(t)
	f := writeManifest(t, b, "shop", shopManifest)
	t.Cleanup(func() { b.Run("dockah", "kube", "play", "--down", f) })
	r := b.Exec(t, "", "dockah", "kube", "play", f)
	if r.Status != 0 {
		j, _ := b.Run("journalctl", "--no-pager", "-n", "60")
		t.Fatalf("play: %v\n%s\n%s\n%s", r.Status, r.Stdout, r.Stderr, j)
	}
	for _, w := range []string{"share no localhost"} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("play's warnings lack %q:\n%s", w, r.Stderr)
		}
	}
	// The Service's port, ClusterIP: 127.0.0.1.
	curl(t, b, "http://127.0.0.1:19100/", "hello from a pod")
	if _, err := b.WaitJournal("shop-client", "reached-web", 30*time.Second); err != nil {
		t.Errorf("the client did not reach web by name: %v", err)
	}
	j, _ := b.Journal("shop-client")
	if !strings.Contains(j, "hello from a pod") {
		t.Errorf("client's journal:\n%s", j)
	}
	if out, err := b.Run("ip", "link", "show", "dk-shop"); err != nil {
		t.Errorf("no bridge for the Pod's network: %v\n%s", err, out)
	}
	// Played again without --replace: refused, names the way out.
	if r := b.Exec(t, "", "dockah", "kube", "play", f); r.Status == 0 || !strings.Contains(r.Stderr, "--replace") {
		t.Errorf("second play: %v\n%s", r.Status, r.Stderr)
	}
	if r := b.Exec(t, "", "dockah", "kube", "play", "--replace", f); r.Status != 0 {
		t.Fatalf("play --replace: %v\n%s", r.Status, r.Stderr)
	}
	curl(t, b, "http://127.0.0.1:19100/", "hello from a pod")

	if r := b.Exec(t, "", "dockah", "kube", "play", "--down", f); r.Status != 0 {
		t.Fatalf("down: %v\n%s", r.Status, r.Stderr)
	}
	for _, unit := range []string{"shop-web.service", "shop-web-http.socket", "shop-web.socket", "shop-client.service"} {
		if state, _ := b.Property(unit, "LoadState"); state == "loaded" {
			active, _ := b.Property(unit, "ActiveState")
			t.Errorf("%s still loaded (%s) after --down", unit, active)
		}
	}
	for _, p := range []string{"/run/dockah/containers/shop-web.toml", "/run/dockah/containers/shop-client.toml", "/run/dockah/networks/shop.toml", "/run/dockah/kube/shop"} {
		// /run of the box is its own tmpfs: looked at from inside.
		if _, err := b.Run("stat", p); err == nil {
			t.Errorf("%s left after --down", p)
		}
	}
	if !box.Eventually(10*time.Second, func() bool { _, err := b.Run("ip", "link", "show", "dk-shop"); return err != nil }) {
		t.Error("the bridge dk-shop is left after --down")
	}
	if out, err := b.Run("curl", "-s", "--max-time", "2", "http://127.0.0.1:19100/"); err == nil {
		t.Errorf("the Service's port still answers after --down: %s", out)
	}
}

const siteManifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: site
data:
  index.html: |
    <h1>served from a ConfigMap</h1>
---
apiVersion: v1
kind: Secret
metadata:
  name: site
stringData:
  token: s3cr3t-token
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: site
spec:
  replicas: 2
  selector:
    matchLabels: {app: site}
  template:
    metadata:
      labels: {app: site}
    spec:
      containers:
      - name: httpd
        image: kube:test
        imagePullPolicy: IfNotPresent
        command: ["/bin/sh", "-c", "echo token=$TOKEN; cat /etc/site/token; echo; exec httpd -f -p 8000 -h /www"]
        env:
        - name: TOKEN
          valueFrom:
            secretKeyRef: {name: site, key: token}
        ports:
        - containerPort: 8000
        volumeMounts:
        - {name: www, mountPath: /www}
        - {name: secret, mountPath: /etc/site}
      volumes:
      - name: www
        configMap: {name: site}
      - name: secret
        secret: {secretName: site, defaultMode: 0400}
---
apiVersion: v1
kind: Service
metadata:
  name: site
spec:
  type: NodePort
  selector: {app: site}
  ports:
  - port: 80
    targetPort: 8000
    nodePort: 19102
`

// TestPlayDeploymentWithConfigMapFile: a Deployment of two replicas runs
// one (and says so); its ConfigMap is a file httpd serves through a
// NodePort Service; its Secret is an environment variable (from a file
// of mode 0600, not the definition) and a file.
func TestPlayDeploymentWithConfigMapFile(t *testing.T) {
	b := kubeBox(t)
	f := writeManifest(t, b, "site", siteManifest)
	t.Cleanup(func() { b.Run("dockah", "kube", "play", "--down", f) })
	r := b.Exec(t, "", "dockah", "kube", "play", f)
	if r.Status != 0 {
		t.Fatalf("play: %d\n%s\n%s", r.Status, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "replicas: 2: one host runs one replica") {
		t.Errorf("no warning about replicas:\n%s", r.Stderr)
	}
	// NodePort: every address of the host.
	curl(t, b, "http://127.0.0.1:19102/index.html", "served from a ConfigMap")
	j, err := b.WaitJournal("site", "token=s3cr3t-token", 20*time.Second)
	if err != nil || strings.Count(j, "s3cr3t-token") < 2 {
		t.Errorf("the Secret is not in the environment and the file: %v\n%s", err, j)
	}
	def, err := b.Run("cat", "/run/dockah/containers/site.toml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(def), "s3cr3t") {
		t.Errorf("the Secret's value is in the definition:\n%s", def)
	}
	out, _ := b.Run("stat", "-c", "%a %n", "/run/dockah/kube", "/run/dockah/kube/site/httpd.env")
	if !strings.Contains(out, "700 /run/dockah/kube\n") || !strings.Contains(out, "600 /run/dockah/kube/site/httpd.env") {
		t.Errorf("modes of the Secret's files:\n%s", out)
	}
	if r := b.Exec(t, "", "dockah", "kube", "play", "--down", f); r.Status != 0 {
		t.Fatalf("down: %s", r.Stderr)
	}
	if out, err := b.Run("ls", "/run/dockah/kube/site"); err == nil {
		t.Errorf("the Pod's files are left after --down: %s", out)
	}
}

const roundTripDefinition = `[container]
image = "kube:test"
entrypoint = ["/hello"]
environment = { HELLO_GREETING = "hello from the round trip" }
read_only = true

[[socket]]
listen = "127.0.0.1:19101"
name = "http"

[resources]
memory_max = "64M"
tasks_max = 32

[security]
capabilities_drop = ["ALL"]

[service]
restart = "on-failure"
stop_signal = "SIGINT"
`

// TestRoundTrip: a definition serves; `kube generate --service` makes
// its YAML; the definition goes; `kube play` of the YAML serves the same
// answer on the same address, with what Kubernetes has no field for
// (tasks_max, stop_signal, the passed socket) put back from annotations.
func TestRoundTrip(t *testing.T) {
	b := kubeBox(t)
	if err := b.WriteFile("/etc/dockah/containers/trip.toml", []byte(roundTripDefinition), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("start", "trip.socket"); err != nil {
		t.Fatal(err)
	}
	before := curl(t, b, "http://127.0.0.1:19101/", "hello from the round trip")
	r := b.Exec(t, "", "dockah", "kube", "generate", "--service", "trip")
	if r.Status != 0 {
		t.Fatalf("generate: %s", r.Stderr)
	}
	for _, w := range []string{"stop_signal", "tasks_max", "must bind port 19101 itself", "image localhost/kube:test is this host's own"} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("generate's warnings lack %q:\n%s", w, r.Stderr)
		}
	}
	f := writeManifest(t, b, "trip", r.Stdout)
	if _, err := b.Systemctl("stop", "trip.service", "trip.socket"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b.Path("/etc/dockah/containers/trip.toml")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Systemctl("daemon-reload"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Run("dockah", "kube", "play", "--down", f) })
	if r := b.Exec(t, "", "dockah", "kube", "play", f); r.Status != 0 {
		j, _ := b.Run("journalctl", "--no-pager", "-n", "30")
		t.Fatalf("play: %s\n%s\n%s", r.Stderr, r.Stdout, j)
	}
	after := curl(t, b, "http://127.0.0.1:19101/", "hello from the round trip")
	if first(before) != first(after) {
		t.Errorf("answers differ: %q before, %q after", first(before), first(after))
	}
	for prop, want := range map[string]string{"MemoryMax": "67108864", "TasksMax": "32", "Restart": "on-failure", "KillSignal": "2"} {
		if got, _ := b.Property("trip.service", prop); got != want {
			t.Errorf("%s after the round trip: %q, want %q", prop, got, want)
		}
	}
	// The socket is passed again (hello answers on it), not forwarded.
	if def, _ := b.Run("cat", "/run/dockah/containers/trip.toml"); strings.Contains(def, "port =") {
		t.Errorf("the passed socket came back forwarded:\n%s", def)
	}
}

func first(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

const nginxMemcachedManifest = `apiVersion: v1
kind: Pod
metadata:
  name: cafe
  labels: {app: cafe}
spec:
  containers:
  - name: nginx
    image: dockah/nginx:latest
    imagePullPolicy: Never
    ports:
    - {containerPort: 80, name: http}
    securityContext:
      readOnlyRootFilesystem: true
      capabilities:
        drop: [ALL]
        add: [CHOWN, SETUID, SETGID, NET_BIND_SERVICE]
    volumeMounts:
    - {name: run, mountPath: /run}
    - {name: nginx-lib, mountPath: /var/lib/nginx}
    resources:
      limits: {memory: 256Mi, cpu: "1"}
  - name: memcached
    image: dockah/memcached:latest
    imagePullPolicy: Never
    ports:
    - {containerPort: 11211, name: memcache}
    securityContext:
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
    resources:
      limits: {memory: 128Mi}
  volumes:
  - name: run
    emptyDir: {medium: Memory, sizeLimit: 1Mi}
  - name: nginx-lib
    emptyDir: {medium: Memory, sizeLimit: 64Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: cafe
spec:
  selector: {app: cafe}
  ports:
  - {name: http, port: 19103, targetPort: http}
  - {name: memcache, port: 19104, targetPort: memcache}
`

// TestPlayNginxAndMemcached: a Pod of the real nginx and memcached of
// contrib/images, each reached through its port of one Service: nginx's
// welcome page with curl, memcached's stats with curl's telnet://.
func TestPlayNginxAndMemcached(t *testing.T) {
	b := kubeBox(t)
	images.Service(t, b, "nginx")
	images.Service(t, b, "memcached")
	f := writeManifest(t, b, "cafe", nginxMemcachedManifest)
	t.Cleanup(func() { b.Run("dockah", "kube", "play", "--down", f) })
	if r := b.Exec(t, "", "dockah", "kube", "play", f); r.Status != 0 {
		j, _ := b.Run("journalctl", "--no-pager", "-n", "40")
		t.Fatalf("play: %s\n%s\n%s", r.Stderr, r.Stdout, j)
	}
	curl(t, b, "http://127.0.0.1:19103/", "Welcome to nginx")
	var out string
	if !box.Eventually(30*time.Second, func() bool {
		// curl's telnet:// sends its input and prints what comes back
		// (nc is not in every box's tree).
		r := b.Exec(t, "stats\r\nquit\r\n", "curl", "-s", "--max-time", "5", "telnet://127.0.0.1:19104")
		out = r.Stdout
		return strings.Contains(out, "STAT pid")
	}) {
		t.Fatalf("memcached through the Service's port: %q", out)
	}
	if r := b.Exec(t, "", "dockah", "kube", "play", "--down", f); r.Status != 0 {
		t.Fatalf("down: %s", r.Stderr)
	}
}
