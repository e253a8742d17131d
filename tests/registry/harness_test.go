package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dockah/dockah/tests/images"
)

// TestHarness checks the registry helper by itself, with skopeo and curl
// on the host and no box: a push is stored and served, TLS is verified
// against the test's CA, htpasswd users are enforced, deletes work, and
// the registry is gone with its directory when its test ends.
func TestHarness(t *testing.T) {
	cases := []struct {
		name string
		opts Options
	}{
		{"plain", Options{}},
		{"tls-auth", Options{TLS: true, Users: map[string]string{"alice": "wonder land", "bob": "builder"}}},
	}
	for _, c := range cases {
		var pid int
		var dir string
		t.Run(c.name, func(t *testing.T) {
			r := Start(t, c.opts)
			pid, dir = r.Pid(), r.Dir
			if !strings.HasPrefix(r.Host, "127.0.0.1:") {
				t.Fatalf("Host %q: the registry must listen on 127.0.0.1", r.Host)
			}
			if got := r.CACert != nil; got != c.opts.TLS {
				t.Errorf("CACert set: %v, want %v", got, c.opts.TLS)
			}
			checkPushAndInspect(t, r)
			checkCurl(t, r)
			checkDelete(t, r)
			if log, _ := os.ReadFile(filepath.Join(r.Dir, "registry.log")); strings.Contains(string(log), "GET /v2/") {
				t.Errorf("the registry writes an access log:\n%s", log)
			}
		})
		if pid == 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s: docker-registry (pid %d) still exists after its test: kill(0): %v", c.name, pid, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the registry's directory %s is left after its test: %v", c.name, dir, err)
		}
	}
}

// checkPushAndInspect pushes an umoci image with skopeo and reads it back:
// the digest skopeo wrote is the one inspect reports and the hash of the
// raw manifest.
func checkPushAndInspect(t *testing.T, r *Registry) {
	l := newLayout(t)
	l.build("img", "", []images.Entry{{Name: "etc", Dir: true}, {Name: "etc/greeting", Data: []byte("hi\n"), Mode: 0o644}})
	l.config("img", "--config.cmd", "/bin/true")
	digest := r.Copy(t, l.src("img"), "harness/img:1")
	var info struct{ Digest string }
	if err := json.Unmarshal(r.Inspect(t, "harness/img:1"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Digest != digest {
		t.Errorf("skopeo inspect: digest %s, skopeo copy wrote %s", info.Digest, digest)
	}
	sum := sha256.Sum256(r.Inspect(t, "harness/img:1", "--raw"))
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		t.Errorf("raw manifest hashes to %s, want %s", got, digest)
	}
}

// checkCurl reads the catalog with curl: with the CA, by IP and by the
// name localhost; without the CA refused; and, with users, refused
// without or with wrong credentials and answered for every user.
func checkCurl(t *testing.T, r *Registry) {
	var trust []string
	if r.CertDir != "" {
		trust = []string{"--cacert", filepath.Join(r.CertDir, "ca.crt")}
	}
	creds := []string{}
	for user, pass := range r.opts.Users {
		creds = append(creds, user+":"+pass)
	}
	if len(creds) == 0 {
		creds = []string{""}
	}
	for _, cred := range creds {
		args := append([]string{"-sS", "--fail"}, trust...)
		if cred != "" {
			args = append(args, "-u", cred)
		}
		if out := Tool(t, "curl", append(args, r.URL("/v2/_catalog"))...); !strings.Contains(out, `"harness/img"`) {
			t.Errorf("catalog as %q: %s", cred, out)
		}
	}
	if r.CertDir != "" {
		local := strings.Replace(r.URL("/v2/"), "127.0.0.1", "localhost", 1)
		code := Tool(t, "curl", append(append([]string{"-sS", "-o", "/dev/null", "-w", "%{http_code}"}, trust...), local)...)
		if code != "200" && code != "401" {
			t.Errorf("GET %s: HTTP %s", local, code)
		}
		// Without the CA: curl's exit status 60 is "peer certificate
		// cannot be authenticated with known CA certificates".
		err := exec.Command("curl", "-sS", "-o", "/dev/null", r.URL("/v2/")).Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 60 {
			t.Errorf("curl without the CA: %v, want exit status 60 (certificate not trusted)", err)
		}
	}
	if len(r.opts.Users) > 0 {
		for _, cred := range []string{"", "alice:wrong"} {
			args := append([]string{"-sS", "-o", "/dev/null", "-w", "%{http_code}"}, trust...)
			if cred != "" {
				args = append(args, "-u", cred)
			}
			if code := Tool(t, "curl", append(args, r.URL("/v2/_catalog"))...); code != "401" {
				t.Errorf("catalog with credentials %q: HTTP %s, want 401", cred, code)
			}
		}
	}
}

// checkDelete deletes the pushed image (the registry allows deletes) and
// checks that it is gone.
func checkDelete(t *testing.T, r *Registry) {
	Tool(t, "skopeo", append(append([]string{"delete"}, r.SkopeoFlags("--")...), "docker://"+r.Ref("harness/img:1"))...)
	args := append(append([]string{"--insecure-policy", "inspect"}, r.SkopeoFlags("--")...), "docker://"+r.Ref("harness/img:1"))
	if out, err := exec.Command("skopeo", args...).CombinedOutput(); err == nil {
		t.Errorf("skopeo inspect after delete succeeded:\n%s", out)
	}
}
