package remote

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dockah/dockah/rootfs/remote/registries"
)

// TestPlainHTTPNeedsInsecure: a registry that answers only plain HTTP is
// refused unless registries.conf or --tls-verify=false allow it, also on
// loopback, where go-containerregistry alone would fall back to HTTP.
func TestPlainHTTPNeedsInsecure(t *testing.T) {
	reg := newRegistry(t)
	ref := reg.ref("test/plain:v1")
	push(t, ref, newImage(t, runtime.GOARCH, gzipLayer(t, "plain", 1000)))
	conf, err := registries.Parse("test.conf", []byte("[[registry]]\nlocation = \""+reg.host+"\"\ninsecure = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		options Options
		wantErr string
	}{
		{"https required", Options{CertsFS: fstest.MapFS{}}, "does not answer HTTPS; a plain-HTTP registry needs insecure = true in registries.conf or --tls-verify=false"},
		{"insecure in registries.conf", Options{CertsFS: fstest.MapFS{}, Registries: conf}, ""},
		{"--tls-verify=false", Options{CertsFS: fstest.MapFS{}, SkipTLSVerify: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			_, err := Pull(context.Background(), st, ref, PullOptions{Options: tc.options})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Pull: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Pull = %v, want an error containing %q", err, tc.wantErr)
			}
			if tc.wantErr != "" {
				assertNothingWritten(t, st)
			}
		})
	}
}

// TestRegistryErrorsInWords: what the registry said, not its Go value.
func TestRegistryErrorsInWords(t *testing.T) {
	reg := newRegistry(t)
	push(t, reg.ref("test/missing:v0"), newImage(t, runtime.GOARCH, gzipLayer(t, "v0", 100)))
	_, err := Pull(context.Background(), newStore(t), reg.ref("test/missing:v1"), PullOptions{Options: opts()})
	if err == nil {
		t.Fatal("pull of a missing image succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "the registry says manifest unknown") || strings.Contains(msg, "map[") || strings.Contains(msg, "GET ") {
		t.Errorf("error %q: want the registry's words, without Go maps or the request", msg)
	}
}
