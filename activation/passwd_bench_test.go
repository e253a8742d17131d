package activation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// debianPasswd and debianGroup are the size of a Debian image's user
// database, with the user the container runs as near the end.
var debianPasswd, debianGroup = func() (string, string) {
	var p, g strings.Builder
	for _, u := range []string{"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
		"www-data", "backup", "list", "irc", "_apt", "nobody", "systemd-network", "messagebus", "postgres", "app"} {
		p.WriteString(u + ":x:1000:1000:" + u + ":/home/" + u + ":/usr/sbin/nologin\n")
	}
	for i := 0; i < 50; i++ {
		g.WriteString("group" + strings.Repeat("x", i%7) + ":x:" + string(rune('0'+i%10)) + ":app,root\n")
	}
	return p.String(), g.String()
}()

// BenchmarkResolveUser is the parse of an image's passwd and group for
// a named user, at every start whose spec names one.
func BenchmarkResolveUser(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ResolveUser("app", strings.NewReader(debianPasswd), strings.NewReader(debianGroup)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupUser is what a start pays for its user in the built
// root: two openat2 inside it, the reads and the parse.
func BenchmarkLookupUser(b *testing.B) {
	dir := b.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "etc"), 0o755); err != nil {
		b.Fatal(err)
	}
	for name, text := range map[string]string{"etc/passwd": debianPasswd, "etc/group": debianGroup} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(root)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lookupUser(root, specs.User{Username: "app"}); err != nil {
			b.Fatal(err)
		}
	}
}
