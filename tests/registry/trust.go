package registry

import (
	"os"
	"path"
	"strings"
	"testing"

	"github.com/dockah/dockah/tests/box"
)

// CertsDir is where containers-certs.d(5) keeps a registry's CA: dockah,
// like podman and skopeo, trusts CertsDir/HOST:PORT/*.crt.
const CertsDir = "/etc/containers/certs.d"

// ConfDir holds registries.conf drop-ins (containers-registries.conf.d(5)).
const ConfDir = "/etc/containers/registries.conf.d"

// InstallCA writes the registry's CA to CertsDir/HOST/ca.crt in the box,
// until the test ends.
func (r *Registry) InstallCA(t testing.TB, b *box.Box) {
	t.Helper()
	if r.CACert == nil {
		t.Fatalf("the registry at %s serves no TLS: it has no CA", r.Host)
	}
	dir := path.Join(CertsDir, r.Host)
	r.writeBoxFile(t, b, path.Join(dir, "ca.crt"), r.CACert)
	t.Cleanup(func() { _ = os.RemoveAll(b.Path(dir)) })
}

// InsecureConf writes a registries.conf drop-in into the box that marks
// this registry insecure (plain HTTP, or TLS without verification), until
// the test ends, and returns its path in the box.
func (r *Registry) InsecureConf(t testing.TB, b *box.Box) string {
	t.Helper()
	name := path.Join(ConfDir, "90-dockah-test-"+strings.ReplaceAll(r.Host, ":", "-")+".conf")
	conf := "[[registry]]\nlocation = \"" + r.Host + "\"\ninsecure = true\n"
	r.writeBoxFile(t, b, name, []byte(conf))
	return name
}

// writeBoxFile writes a file into the box and removes it when the test
// ends.
func (r *Registry) writeBoxFile(t testing.TB, b *box.Box, name string, data []byte) {
	t.Helper()
	if err := b.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(b.Path(name)) })
}
