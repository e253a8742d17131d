package registry

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
)

// authFailure matches how a refused pull or login explains itself.
const authFailure = `unauthori[sz]ed|authenticat|401`

// TestLoginTLS pulls from a TLS registry that needs a password: refused
// before login and after logout, accepted in between; with the CA in
// certs.d and the default auth file, with --authfile, and without the CA
// under --tls-verify=false or with the registry insecure in
// registries.conf.d.
func TestLoginTLS(t *testing.T) {
	b := box.Shared(t)
	password := fmt.Sprintf("pw-%d", time.Now().UnixNano())
	r := Start(t, Options{TLS: true, Users: map[string]string{"alice": password}})
	l := newLayout(t)
	l.build("img", "", []images.Entry{{Name: "etc", Dir: true}, marker(t)})
	l.config("img", "--config.cmd", "/bin/true")
	r.Copy(t, l.src("img"), "private/img:1")
	ref := r.Ref("private/img:1")
	id := manifestConfig(t, r, "private/img:1")

	cases := []struct {
		name     string
		ca       bool     // install the CA in the box's certs.d
		insecure bool     // mark the registry insecure in registries.conf.d
		flags    []string // for login and pull
		authfile string   // --authfile for login, pull and logout
	}{
		{"certs.d", true, false, nil, ""},
		{"authfile", true, false, nil, "/etc/dockah-test/auth-" + strings.ReplaceAll(r.Host, ":", "-") + ".json"},
		{"tls-verify=false", false, false, []string{"--tls-verify=false"}, ""},
		{"insecure", false, true, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var authfile []string
			if c.authfile != "" {
				authfile = []string{"--authfile", c.authfile}
				t.Cleanup(func() { _ = os.Remove(b.Path(c.authfile)) })
			}
			if c.ca {
				r.InstallCA(t, b)
			} else {
				dockahFails(t, b, `certificate|x509|tls`, "pull", ref)
			}
			if c.insecure {
				r.InsecureConf(t, b)
			}
			pull := append(append(append([]string{"pull"}, c.flags...), authfile...), ref)
			login := append(append(append([]string{"dockah", "login", "--username", "alice", "--password-stdin"}, c.flags...), authfile...), r.Host)
			logout := append(append([]string{"logout"}, authfile...), r.Host)
			t.Cleanup(func() { _, _ = b.Run(append([]string{"dockah"}, logout...)...) })
			removeImage(t, b, ref)

			dockahFails(t, b, authFailure, pull...)
			if res := run(t, b, "not-"+password+"\n", login...); res.status == 0 || !matches(authFailure, res.stderr) {
				t.Errorf("login with a wrong password: exit status %d, want a failure matching %q\n%s", res.status, authFailure, res.output())
			}
			if res := run(t, b, password+"\n", login...); res.status != 0 {
				t.Fatalf("%s: exit status %d\n%s", strings.Join(login, " "), res.status, res.output())
			}
			if c.authfile != "" {
				data, err := os.ReadFile(b.Path(c.authfile))
				if err != nil || !strings.Contains(string(data), r.Host) {
					t.Errorf("login --authfile %s wrote %q (%v), want credentials for %s", c.authfile, data, err, r.Host)
				}
			}
			if got := printedDigest(t, "dockah pull", dockah(t, b, pull...)); got != id {
				t.Errorf("dockah pull printed %s, the registry's config digest is %s", got, id)
			}
			dockah(t, b, logout...)
			dockah(t, b, "image", "rm", "--force", ref)
			dockahFails(t, b, authFailure, pull...)
		})
	}
}
