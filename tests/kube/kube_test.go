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
		if _, err := os.Lstat(b.Path(p)); err == nil {
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
