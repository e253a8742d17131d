package services

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockah/dockah/tests/testenv"
)

// Ports 18700-18799 belong to this package.
var (
	nginx     = &service{name: "nginx", addr: "127.0.0.1:18701"}
	redis     = &service{name: "redis", addr: "127.0.0.1:18702"}
	postgres  = &service{name: "postgres", addr: "127.0.0.1:18703"}
	memcached = &service{name: "memcached", addr: "127.0.0.1:18704"}
	sshd      = &service{name: "sshd", addr: "127.0.0.1:18705"}
)

// need fails the test unless the client cmd is on PATH: the clients are
// part of what this package tests, and "make deps" installs them. Without
// root, the test skips first, as the box would make it.
func need(t *testing.T, cmd, pkg string) {
	t.Helper()
	testenv.RequireRoot(t)
	if _, err := exec.LookPath(cmd); err != nil {
		t.Fatalf("the client %s is missing (Debian package %s; make deps installs it): %v", cmd, pkg, err)
	}
}

// curl gets url with Debian's curl and returns the body and the status.
func curl(t *testing.T, url string) (body, status string) {
	t.Helper()
	out := mustClient(t, "", nil, "curl", "--silent", "--show-error", "--max-time", "120", "--write-out", "\n%{http_code}", url)
	i := strings.LastIndex(out, "\n")
	return out[:i], out[i+1:]
}

func TestNginx(t *testing.T) {
	need(t, "curl", "curl")
	b := nginx.start(t)
	url := "http://" + nginx.addr + "/"

	// The first connection starts the container; the new volume starts
	// with the image's /var/www/html, nginx's welcome page.
	if body, status := curl(t, url); status != "200" || !strings.Contains(body, "Welcome to nginx!") {
		t.Fatalf("GET / of a new site: %s %q, want nginx's welcome page", status, body)
	}
	if _, err := os.Stat(volume(b, "www", "index.nginx-debian.html")); err != nil {
		t.Errorf("the new volume www lacks the image's welcome page: %v", err)
	}
	if err := b.WaitUnitState("nginx.service", 10*time.Second, "active"); err != nil {
		t.Fatal(err)
	}
	if uid := nginx.mainUID(t, b); uid != "0" {
		t.Errorf("the nginx master runs as uid %s, want root (its workers are www-data)", uid)
	}

	// The site, in the named volume www.
	const page = "<p>served by dockah from the volume www</p>\n"
	if err := os.MkdirAll(volume(b, "www", ""), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(volume(b, "www", "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	if body, status := curl(t, url); status != "200" || body != page {
		t.Fatalf("GET / with an index.html in the volume: %s %q, want %q", status, body, page)
	}
	if _, status := curl(t, url+"missing.html"); status != "404" {
		t.Errorf("GET /missing.html: %s, want 404", status)
	}

	nginx.restart(t, b)
	if body, status := curl(t, url); status != "200" || body != page {
		t.Fatalf("GET / after the restart: %s %q, want %q", status, body, page)
	}

	// The access log goes to syslog (/dev/log), the error log to stderr:
	// both reach the journal of the unit.
	if _, err := b.WaitJournal("nginx.service", `"GET /missing.html HTTP/1.1" 404`, 10*time.Second); err != nil {
		t.Error(err)
	}
}

func TestRedis(t *testing.T) {
	need(t, "redis-cli", "redis-tools")
	b := redis.start(t)
	host, port, _ := strings.Cut(redis.addr, ":")
	cli := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(mustClient(t, "", nil, "redis-cli", append([]string{"-h", host, "-p", port}, args...)...))
	}

	if out := cli("PING"); out != "PONG" {
		t.Fatalf("PING: %q", out)
	}
	if info := cli("INFO", "server"); !strings.Contains(info, "process_id:1\r") && !strings.Contains(info, "process_id:1\n") {
		t.Errorf("redis is not the container's pid 1:\n%s", info)
	}
	if uid := redis.mainUID(t, b); uid == "0" {
		t.Error("redis runs as root, want the user redis")
	}
	if out := cli("SET", "dockah:greeting", "kept across restarts"); out != "OK" {
		t.Fatalf("SET: %q", out)
	}
	if out := cli("RPUSH", "dockah:list", "a", "b", "c"); out != "3" {
		t.Fatalf("RPUSH: %q", out)
	}
	// Enough data that redis takes a while to read it back at its next
	// start, answering "LOADING" meanwhile: the definition's notify =
	// true must hold the first connection until redis says READY=1.
	const filler = 200000
	var pipe strings.Builder
	for i := range filler {
		fmt.Fprintf(&pipe, "SET dockah:filler:%d %032d\r\n", i, i)
	}
	if out := strings.TrimSpace(mustClient(t, pipe.String(), nil, "redis-cli", "-h", host, "-p", port, "--pipe")); !strings.Contains(out, "errors: 0") {
		t.Fatalf("redis-cli --pipe: %s", out)
	}

	// A stop saves the data set; the socket stays and the next
	// connection starts the container again.
	redis.stop(t, b)
	if _, err := os.Stat(volume(b, "redis", "dump.rdb")); err != nil {
		t.Errorf("no snapshot in the volume after the stop: %v", err)
	}
	if _, err := os.Stat(volume(b, "redis", "appendonlydir")); err != nil {
		t.Errorf("no append-only file in the volume: %v", err)
	}
	if out := cli("GET", "dockah:greeting"); out != "kept across restarts" {
		t.Fatalf("GET after the stop and a new start: %q", out)
	}
	if out := cli("DBSIZE"); out != fmt.Sprint(filler+2) {
		t.Errorf("DBSIZE after the stop and a new start: %q, want %d", out, filler+2)
	}
	if out := cli("LRANGE", "dockah:list", "0", "-1"); out != "a\nb\nc" {
		t.Errorf("LRANGE after the stop and a new start: %q", out)
	}

	redis.restart(t, b)
	if out := cli("GET", "dockah:greeting"); out != "kept across restarts" {
		t.Fatalf("GET after systemctl restart: %q", out)
	}
}

func TestPostgres(t *testing.T) {
	need(t, "psql", "postgresql-client")
	const password = "dockah-test-password"
	postgres.files = map[string]string{
		"/etc/dockah/postgres.env": "POSTGRES_PASSWORD=" + password + "\nPOSTGRES_DB=app\n",
	}
	b := postgres.start(t)
	host, port, _ := strings.Cut(postgres.addr, ":")
	conn := fmt.Sprintf("host=%s port=%s user=postgres dbname=app connect_timeout=150", host, port)
	psql := func(pw, sql string) (string, error) {
		t.Helper()
		out, err := client(t, "", []string{"PGPASSWORD=" + pw}, "psql", conn, "--no-psqlrc", "--no-align", "--tuples-only", "-v", "ON_ERROR_STOP=1", "-c", sql)
		return strings.TrimSpace(out), err
	}
	mustPsql := func(sql string) string {
		t.Helper()
		out, err := psql(password, sql)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// The first connection starts the container, which runs initdb on
	// the empty volume before the server listens. It must reach a postgres that accepts sessions:
	// with notify = true the forwarder waits for its READY=1, not just
	// for the port to listen.
	out, err := psql(password, "SELECT current_setting('data_directory')")
	if err != nil {
		t.Fatalf("first connection: %v: %s", err, out)
	}
	if out != "/var/lib/postgresql/data" {
		t.Errorf("data_directory %q", out)
	}
	mustPsql("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
	mustPsql("INSERT INTO notes VALUES (1, 'kept across restarts')")
	if out := mustPsql("SELECT pg_postmaster_start_time() < now(), current_user"); out != "t|postgres" {
		t.Errorf("server check: %q", out)
	}
	if uid := postgres.mainUID(t, b); uid == "0" {
		t.Error("postgres runs as root, want the user postgres")
	}
	if out, err := psql("wrong", "SELECT 1"); err == nil || !strings.Contains(out, "password authentication failed") {
		t.Errorf("psql with a wrong password said %q, want it refused (password authentication failed)", out)
	}
	if _, err := os.Stat(volume(b, "postgres", "data/PG_VERSION")); err != nil {
		t.Errorf("the cluster is not in the volume: %v", err)
	}

	postgres.restart(t, b)
	if out := mustPsql("SELECT body FROM notes WHERE id = 1"); out != "kept across restarts" {
		t.Fatalf("the row after the restart: %q", out)
	}
	journal, err := b.Journal("postgres.service")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(journal, "dockah-entrypoint: initdb"); n != 1 {
		t.Errorf("initdb ran %d times, want once (the first start only)", n)
	}
}

func TestMemcached(t *testing.T) {
	need(t, "nc", "netcat-openbsd")
	b := memcached.start(t)
	host, port, _ := strings.Cut(memcached.addr, ":")
	talk := func(cmds string) string {
		t.Helper()
		// "quit" makes memcached close the connection, and nc ends.
		return mustClient(t, cmds+"quit\r\n", nil, "nc", "-w", "120", host, port)
	}

	out := talk("set greeting 0 0 5\r\nhello\r\nget greeting\r\nstats\r\n")
	if !strings.Contains(out, "STORED\r\n") || !strings.Contains(out, "VALUE greeting 0 5\r\nhello\r\nEND\r\n") {
		t.Fatalf("set and get: %q", out)
	}
	if !strings.Contains(out, "STAT pid 1\r\n") {
		t.Errorf("memcached is not the container's pid 1: %q", out)
	}
	if uid := memcached.mainUID(t, b); uid == "0" {
		t.Error("memcached runs as root, want the user memcache")
	}

	// A cache keeps nothing: after a stop, the next connection starts
	// an empty one.
	memcached.stop(t, b)
	if out := talk("get greeting\r\n"); out != "END\r\n" {
		t.Fatalf("get after the stop and a new start: %q, want an empty cache", out)
	}
	memcached.restart(t, b)
	if out := talk("version\r\n"); !strings.HasPrefix(out, "VERSION 1.") {
		t.Fatalf("version after the restart: %q", out)
	}
}

func TestSSHD(t *testing.T) {
	need(t, "ssh", "openssh-client")
	need(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	mustClient(t, "", nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dockah-test", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	sshd.dropIns = map[string]string{
		"60-test-keys.toml": fmt.Sprintf("[container]\nenvironment = { SSH_AUTHORIZED_KEYS = %q }\n", strings.TrimSpace(string(pub))),
	}
	b := sshd.start(t)
	host, port, _ := strings.Cut(sshd.addr, ":")
	knownHosts := filepath.Join(dir, "known_hosts")
	ssh := func(user, strict string, command ...string) (string, error) {
		t.Helper()
		args := []string{"-F", "/dev/null", "-p", port, "-i", key,
			"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=120",
			"-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=" + strict}
		if command[0] == "-tt" {
			args, command = append(args, "-tt"), command[1:]
		}
		return client(t, "", nil, "ssh", append(append(args, user+"@"+host), command...)...)
	}

	out, err := ssh("dockah", "accept-new", "id -un; cat /proc/1/comm; echo kept > ~/note")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dockah\nsshd\n") {
		t.Errorf("the session says %q, want the user dockah under sshd as pid 1", out)
	}
	if _, err := ssh("root", "yes", "true"); err == nil {
		t.Error("root logged in")
	}
	// sshd is the container's root: on the host, the first ID of its
	// range (mainUID checks the map).
	if uid := sshd.mainUID(t, b); uid != "0" {
		t.Errorf("sshd runs as uid %s in its container, want root", uid)
	}
	// A session with a terminal: sshd gives the user a pty of the
	// container's devpts.
	if out, err := ssh("dockah", "yes", "-tt", "tty"); err != nil || !strings.HasPrefix(out, "/dev/pts/") {
		t.Errorf("a session with a terminal: %q %v", out, err)
	}

	// The host key is in the volume, the user's file in the container's
	// writable layer: both outlive a restart (StrictHostKeyChecking=yes
	// refuses a new host key).
	sshd.restart(t, b)
	out, err = ssh("dockah", "yes", "cat ~/note")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "kept" {
		t.Errorf("~/note after the restart: %q", out)
	}
	if _, err := os.Stat(volume(b, "sshd", "ssh_host_ed25519_key")); err != nil {
		t.Errorf("the host key is not in the volume: %v", err)
	}
}
