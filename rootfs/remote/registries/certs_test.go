package registries

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testCert is a certificate made in memory, with its key.
type testCert struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

// newCert makes a certificate for name, signed by parent (self-signed
// when parent is nil).
func newCert(t *testing.T, name string, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	} else {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
}

func TestCertDirs(t *testing.T) {
	want := []string{"etc/containers/certs.d/reg.local:5000", "etc/docker/certs.d/reg.local:5000"}
	if diff := cmp.Diff(want, CertDirs("reg.local:5000")); diff != "" {
		t.Errorf("CertDirs (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", ".", "..", "../etc", "a/b"} {
		if dirs := CertDirs(bad); dirs != nil {
			t.Errorf("CertDirs(%q) = %v, want nil", bad, dirs)
		}
	}
}

func TestTLSConfig(t *testing.T) {
	ca := newCert(t, "Test CA", nil)
	server := newCert(t, "reg.local", ca)
	client := newCert(t, "client", ca)
	fsys := fstest.MapFS{
		"etc/containers/certs.d/reg.local:5000/ca.crt":      {Data: ca.certPEM},
		"etc/containers/certs.d/reg.local:5000/client.cert": {Data: client.certPEM},
		"etc/containers/certs.d/reg.local:5000/client.key":  {Data: client.keyPEM},
		"etc/containers/certs.d/reg.local:5000/README":      {Data: []byte("ignored")},
		// Docker's directory is not read when containers' exists.
		"etc/docker/certs.d/reg.local:5000/broken.crt": {Data: []byte("not pem")},
		"etc/docker/certs.d/other.local/ca.crt":        {Data: ca.certPEM},
	}

	t.Run("containers certs.d", func(t *testing.T) {
		cfg, err := TLSConfig(fsys, "reg.local:5000")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := server.cert.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: "reg.local"}); err != nil {
			t.Errorf("the registry's certificate does not verify against the roots: %v", err)
		}
		if len(cfg.Certificates) != 1 || !cfg.Certificates[0].Leaf.Equal(client.cert) {
			t.Errorf("client certificates %v, want the one of client.cert", cfg.Certificates)
		}
	})
	t.Run("docker certs.d", func(t *testing.T) {
		cfg, err := TLSConfig(fsys, "other.local")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.RootCAs == nil {
			t.Fatal("no roots from etc/docker/certs.d")
		}
		if _, err := server.cert.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: "reg.local"}); err != nil {
			t.Errorf("verify: %v", err)
		}
	})
	t.Run("no directory", func(t *testing.T) {
		cfg, err := TLSConfig(fsys, "plain.example")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.RootCAs != nil || len(cfg.Certificates) != 0 || cfg.MinVersion != 0x0303 {
			t.Errorf("got %+v, want the system roots and TLS 1.2 at least", cfg)
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	ca := newCert(t, "Test CA", nil)
	client := newCert(t, "client", ca)
	dir := "etc/containers/certs.d/reg.local/"
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"certificate without key", fstest.MapFS{dir + "c.cert": {Data: client.certPEM}},
			"tls configuration for reg.local: etc/containers/certs.d/reg.local/c.cert: no key c.key beside the client certificate (CA certificates end in .crt)"},
		{"key without certificate", fstest.MapFS{dir + "c.key": {Data: client.keyPEM}},
			"tls configuration for reg.local: etc/containers/certs.d/reg.local/c.key: no client certificate c.cert beside the key"},
		{"not PEM", fstest.MapFS{dir + "ca.crt": {Data: []byte("garbage")}},
			"tls configuration for reg.local: etc/containers/certs.d/reg.local/ca.crt: no PEM certificate"},
		{"mismatched pair", fstest.MapFS{dir + "c.cert": {Data: client.certPEM}, dir + "c.key": {Data: ca.keyPEM}},
			"tls configuration for reg.local: etc/containers/certs.d/reg.local/c.cert: tls: private key does not match public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TLSConfig(tt.files, "reg.local")
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := TLSConfig(fstest.MapFS{}, "../x"); err == nil || !strings.Contains(err.Error(), "not a registry host[:port]") {
		t.Errorf("hostport with a slash: %v", err)
	}
}
