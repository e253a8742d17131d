package registry

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// toolTimeout bounds one run of skopeo and the like on the host.
const toolTimeout = 2 * time.Minute

// Copy copies the image src (any skopeo transport: "oci:DIR:TAG",
// "docker-archive:FILE") to repoTag on the registry with skopeo, trusting
// its CA and logging in as its first user, and returns the digest of the
// manifest the registry stored.
func (r *Registry) Copy(t testing.TB, src, repoTag string) string {
	t.Helper()
	digestFile := filepath.Join(t.TempDir(), "digest")
	args := []string{"copy", "--quiet", "--digestfile", digestFile}
	args = append(args, r.SkopeoFlags("--dest-")...)
	Tool(t, "skopeo", append(args, src, "docker://"+r.Ref(repoTag))...)
	digest, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatalf("skopeo copy %s wrote no digest: %v", src, err)
	}
	return strings.TrimSpace(string(digest))
}

// Inspect runs "skopeo inspect FLAGS docker://HOST/REPOTAG" ("--raw",
// "--config") and returns its output.
func (r *Registry) Inspect(t testing.TB, repoTag string, flags ...string) []byte {
	t.Helper()
	args := append([]string{"inspect"}, r.SkopeoFlags("--")...)
	args = append(args, flags...)
	return []byte(Tool(t, "skopeo", append(args, "docker://"+r.Ref(repoTag))...))
}

// SkopeoFlags returns the flags by which skopeo (or podman) reaches this
// registry: its CA or no TLS, and the first user's credentials. prefix is
// "--" for a command with one image, "--src-" or "--dest-" for copy.
func (r *Registry) SkopeoFlags(prefix string) []string {
	var flags []string
	if r.CertDir != "" {
		flags = append(flags, prefix+"cert-dir", r.CertDir)
	} else {
		flags = append(flags, prefix+"tls-verify=false")
	}
	if creds := r.Creds(); creds != "" {
		flags = append(flags, prefix+"creds", creds)
	}
	return flags
}

// Tool runs a command on the host and returns its standard output; it
// fails the test, with the command's standard error, unless it succeeds,
// and skips it when the command is missing. skopeo runs with
// --insecure-policy: the tests check the images, not a signature policy
// this machine may not have.
func Tool(t testing.TB, name string, args ...string) string {
	t.Helper()
	require(t, name, packageOf(name))
	if name == "skopeo" {
		args = append([]string{"--insecure-policy"}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// packageOf names the Debian package of a tool the tests use.
func packageOf(name string) string {
	switch name {
	case "htpasswd":
		return "apache2-utils"
	case "busybox":
		return "busybox-static"
	}
	return name // skopeo, umoci, podman, curl, openssl
}
