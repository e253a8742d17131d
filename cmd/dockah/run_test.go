package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/dockah/dockah/unitgen"
)

// fakeRunEnv is a caller with HOME set and one env file.
func fakeRunEnv() runEnv {
	files := map[string]string{"/w/app.env": "# settings\nMODE=env-file\nONLY_FILE=1\n", "/w/bad.env": "no equals\n"}
	return runEnv{
		lookupEnv: func(k string) (string, bool) { v, ok := map[string]string{"HOME": "/root"}[k]; return v, ok },
		readFile: func(p string) ([]byte, error) {
			if s, ok := files[p]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
		cwd: "/w",
	}
}

// parseRun parses a dockah run command line as cobra would and loads the
// definition it makes.
func parseRun(t *testing.T, args ...string) (*unitgen.Definition, error) {
	t.Helper()
	var o runOptions
	fl := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fl.SetInterspersed(false)
	o.addFlags(fl)
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	rest := fl.Args()
	data, err := buildRunDefinition(o, rest[0], rest[1:], fakeRunEnv())
	if err != nil {
		return nil, err
	}
	def, err := unitgen.Parse("run-x", unitgen.File{Path: "/run/dockah/run/run-x.toml", Data: data})
	if err != nil {
		return nil, errors.New(err.Error() + "\n" + string(data))
	}
	return def, nil
}

func TestRunFlagsBecomeTheDefinition(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		check func(d *unitgen.Definition) bool
	}{
		{[]string{"--rm", "nginx:latest", "echo", `a "quoted" arg`}, func(d *unitgen.Definition) bool {
			return d.Container.Ephemeral && strings.Join(d.Container.Command.Args, "|") == `echo|a "quoted" arg` && !d.Container.Entrypoint.Set
		}},
		{[]string{"-p", "127.0.0.1:8080:80", "-p", "[::1]:53:5353/tcp", "x"}, func(d *unitgen.Definition) bool {
			return len(d.Sockets) == 2 && d.Sockets[0].Listen == "127.0.0.1:8080" && d.Sockets[0].Port == 80 && d.Sockets[1].Listen == "[::1]:53" && d.Sockets[1].Port == 5353
		}},
		{[]string{"--entrypoint", "/bin/sh -x", "x", "-c", "id"}, func(d *unitgen.Definition) bool {
			return strings.Join(d.Container.Entrypoint.Args, "|") == "/bin/sh -x" && strings.Join(d.Container.Command.Args, "|") == "-c|id"
		}},
		{[]string{"--entrypoint", `["/bin/sh","-c"]`, "x"}, func(d *unitgen.Definition) bool {
			return strings.Join(d.Container.Entrypoint.Args, "|") == "/bin/sh|-c"
		}},
		{[]string{"--entrypoint", "", "x"}, func(d *unitgen.Definition) bool {
			return d.Container.Entrypoint.Set && len(d.Container.Entrypoint.Args) == 0
		}},
		{[]string{"--env-file", "/w/app.env", "-e", "MODE=flag", "-e", "HOME", "-e", "UNSET_HERE", "-e", "B=x=y", "x"}, func(d *unitgen.Definition) bool {
			e := d.Container.Environment
			_, unset := e["UNSET_HERE"]
			return e["MODE"] == "flag" && e["ONLY_FILE"] == "1" && e["HOME"] == "/root" && e["B"] == "x=y" && !unset
		}},
		{[]string{"-v", "/srv/data:/data", "-v", "cache:/var/cache:ro", "-v", "./conf:/etc/app:ro,Z", "x"}, func(d *unitgen.Definition) bool {
			v := d.Volumes
			return len(v) == 3 && v[0].Source == "/srv/data" && !v[0].ReadOnly && v[1].IsNamed() && v[1].ReadOnly &&
				v[2].Source == "/w/conf" && v[2].Target == "/etc/app" && v[2].Relabel == unitgen.RelabelPrivate
		}},
		{[]string{"--userns", "auto", "-v", "/srv/data:/data:ro,noidmap", "-v", "/srv/b:/b", "x"}, func(d *unitgen.Definition) bool {
			v := d.Volumes
			return d.Security.UserNS == unitgen.UserNSAuto && len(v) == 2 && v[0].HostIDs && v[0].ReadOnly && !v[1].HostIDs
		}},
		{[]string{"-v", "/srv/up:/up:chown", "x"}, func(d *unitgen.Definition) bool {
			return len(d.Volumes) == 1 && d.Volumes[0].Chown
		}},
		{[]string{"--userns", "host", "x"}, func(d *unitgen.Definition) bool { return d.Security.UserNS == unitgen.UserNSHost }},
		{[]string{"x"}, func(d *unitgen.Definition) bool { return d.Security.UserNS == unitgen.UserNSAuto }},
		{[]string{"--tmpfs", "/run", "--tmpfs", "/tmp:size=64m,mode=1770,rw,nosuid", "x"}, func(d *unitgen.Definition) bool {
			tm := d.Tmpfs
			return len(tm) == 2 && tm[0].Target == "/run" && tm[1].Size == 64<<20 && tm[1].Mode == 0o770|fs.ModeSticky
		}},
		{[]string{"-u", "1000:1000", "-w", "/data", "--read-only", "--init", "--hostname", "box", "x"}, func(d *unitgen.Definition) bool {
			c := d.Container
			return c.User == "1000:1000" && c.WorkingDir == "/data" && c.ReadOnly && c.Init && c.Hostname == "box"
		}},
		{[]string{"--label", "team=web", "-l", "tier", "x"}, func(d *unitgen.Definition) bool {
			l := d.Container.Labels
			v, ok := l["tier"]
			return l["team"] == "web" && ok && v == ""
		}},
		{[]string{"-m", "256m", "--cpus", "1.5", "--pids-limit", "64", "x"}, func(d *unitgen.Definition) bool {
			r := d.Resources
			return r.MemoryMax == 256<<20 && r.CPUQuota == 150 && r.TasksMax == 64
		}},
		{[]string{"--memory", "1g", "--pids-limit", "-1", "x"}, func(d *unitgen.Definition) bool {
			return d.Resources.MemoryMax == 1<<30 && d.Resources.TasksMax == unitgen.Unlimited
		}},
		{[]string{"--cap-add", "NET_ADMIN,sys_time", "--cap-drop", "ALL", "x"}, func(d *unitgen.Definition) bool {
			s := d.Security
			return strings.Join(s.CapabilitiesAdd, ",") == "CAP_NET_ADMIN,CAP_SYS_TIME" && strings.Join(s.CapabilitiesDrop, ",") == "ALL"
		}},
		{[]string{"--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges", "x"}, func(d *unitgen.Definition) bool {
			return d.Security.Seccomp == unitgen.SeccompUnconfined && d.Security.NoNewPrivileges
		}},
		{[]string{"--security-opt", "seccomp=/etc/profile.json", "--security-opt", "no-new-privileges=false", "x"}, func(d *unitgen.Definition) bool {
			return d.Security.Seccomp == "/etc/profile.json" && !d.Security.NoNewPrivileges
		}},
		{[]string{"--network", "host", "x"}, func(d *unitgen.Definition) bool { return d.Container.Network == unitgen.NetworkHost }},
		{[]string{"--network", "none", "x"}, func(d *unitgen.Definition) bool { return d.Container.Network == unitgen.NetworkNone }},
		{[]string{"--network", "bridge", "x"}, func(d *unitgen.Definition) bool { return d.Container.Network == "dockah" }},
		{[]string{"--network", "app", "x"}, func(d *unitgen.Definition) bool { return d.Container.Network == "app" }},
		{[]string{"--restart", "unless-stopped", "x"}, func(d *unitgen.Definition) bool { return d.Service.Restart == "always" }},
		{[]string{"--restart", "on-failure", "x"}, func(d *unitgen.Definition) bool { return d.Service.Restart == "on-failure" }},
		{[]string{"--stop-signal", "SIGQUIT", "--stop-timeout", "3", "x"}, func(d *unitgen.Definition) bool {
			return d.Service.StopSignal == "SIGQUIT" && d.Service.StopTimeout == 3*time.Second
		}},
	} {
		d, err := parseRun(t, tc.args...)
		if err != nil {
			t.Errorf("dockah run %q: %v", tc.args, err)
			continue
		}
		if !tc.check(d) {
			t.Errorf("dockah run %q: the definition is not what the flags say: %+v", tc.args, d)
		}
	}
}

// Every flag dockah cannot honour is an error that says what is taken.
func TestRunFlagsRefuseWhatCannotBeHonoured(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-p", "8080", "x"}, "HOST:CONTAINER"},
		{[]string{"-p", "80:http", "x"}, "not a port number"},
		{[]string{"-p", "53:53/udp", "x"}, "only TCP"},
		{[]string{"-e", "=1", "x"}, "NAME=VALUE"},
		{[]string{"--env-file", "/w/missing.env", "x"}, "missing.env"},
		{[]string{"--env-file", "/w/bad.env", "x"}, "/w/bad.env:1"},
		{[]string{"-v", "/data", "x"}, "anonymous volumes"},
		{[]string{"-v", "/a:/b:O", "x"}, `option "O"`},
		{[]string{"-v", "/a:relative", "x"}, "target"},
		{[]string{"--userns", "keep-id", "x"}, "want auto or host"},
		{[]string{"--tmpfs", "/run:noexec", "x"}, `option "noexec"`},
		{[]string{"--tmpfs", "/run:mode=999", "x"}, "not octal"},
		{[]string{"-m", "lots", "x"}, "not a size"},
		{[]string{"-m", "1k", "x"}, "smallest"},
		{[]string{"--cpus", "0", "x"}, "--cpus"},
		{[]string{"--pids-limit", "many", "x"}, "--pids-limit"},
		{[]string{"--cap-add", "NOT_A_CAP", "x"}, "NOT_A_CAP"},
		{[]string{"--security-opt", "label=disable", "x"}, "SELinux"},
		{[]string{"--security-opt", "apparmor=unconfined", "x"}, "AppArmor"},
		{[]string{"--security-opt", "seccomp", "x"}, "seccomp=unconfined"},
		{[]string{"--security-opt", "mask=/proc", "x"}, "not supported"},
		{[]string{"--network", "slirp4netns", "x"}, "accepted"},
		{[]string{"--network", "container:db", "x"}, "not supported"},
		{[]string{"--network", "no/such", "x"}, "network"},
		{[]string{"--stop-timeout", "soon", "x"}, "seconds"},
		{[]string{"--stop-signal", "SIGNOPE", "x"}, "stop_signal"},
		{[]string{"-u", "a b", "x"}, "user"},
		{[]string{"--privileged", "x"}, "unknown flag"},
		{[]string{"--restart", "on-failure:3", "x"}, "retries"},
		{[]string{"--restart", "sometimes", "x"}, "accepted"},
		{[]string{"--rm", "--restart", "always", "x"}, "--rm"},
	} {
		_, err := parseRun(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dockah run %q: %v, want an error that says %q", tc.args, err, tc.want)
		}
	}
}

func TestParseDockerSize(t *testing.T) {
	for in, want := range map[string]uint64{"512": 512, "1b": 1, "4k": 4096, "4K": 4096, "512m": 512 << 20, "512mb": 512 << 20, "1.5g": 3 << 29, "2G": 2 << 30} {
		if got, err := parseDockerSize(in); err != nil || got != want {
			t.Errorf("parseDockerSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "m", "-1m", "1x", "1e400", "0", "1.2.3k"} {
		if _, err := parseDockerSize(bad); err == nil {
			t.Errorf("parseDockerSize(%q): want an error", bad)
		}
	}
}

func FuzzRunVolumeAndTmpfsFlags(f *testing.F) {
	for _, s := range []string{"/a:/b", "vol:/data:ro,Z", "./x:/y:rw", "/run:size=64m,mode=1777", ":", "a:b:c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := volumeFlag(s, "/w"); err == nil && (v.Source == "" || v.Target == "") {
			t.Errorf("volumeFlag(%q) = %+v: empty source or target accepted", s, v)
		}
		if tm, err := tmpfsFlag(s); err == nil && strings.Contains(tm.Target, ":") {
			t.Errorf("tmpfsFlag(%q) = %+v: the options leaked into the target", s, tm)
		}
	})
}

func TestRunEndedRecordsTheExit(t *testing.T) {
	env := map[string]string{"EXIT_CODE": "killed", "EXIT_STATUS": "KILL", "SERVICE_RESULT": "signal"}
	e := exitFromEnvironment(func(k string) string { return env[k] }, time.Unix(0, 0))
	if e.String() != "killed SIGKILL" || e.Result != "signal" {
		t.Errorf("killed: %+v (%s)", e, e)
	}
	env = map[string]string{"EXIT_CODE": "exited", "EXIT_STATUS": "3", "SERVICE_RESULT": "exit-code"}
	if e := exitFromEnvironment(func(k string) string { return env[k] }, time.Unix(0, 0)); e.String() != "exited 3" {
		t.Errorf("exited: %+v", e)
	}
}

func TestRunContainersAreFoundByName(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, runDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "web.toml"), []byte("[container]\nimage = \"nginx\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "web.exit.json"), []byte(`{"how":"exited","status":3,"result":"exit-code"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(root)
	def, err := loadContainer(fsys, "web")
	if err != nil || def.Container.Image != "nginx" || !isRunContainer(def) {
		t.Fatalf("loadContainer(web) = %+v, %v", def, err)
	}
	if e := readRunExit(fsys, "web"); e == nil || e.String() != "exited 3" {
		t.Errorf("readRunExit = %+v", e)
	}
	if _, err := loadContainer(fsys, "nope"); !errors.Is(err, unitgen.ErrNotFound) || !strings.Contains(err.Error(), "dockah run") {
		t.Errorf("loadContainer(nope) = %v", err)
	}
	for _, bad := range []string{"../etc/passwd", ".hidden", ""} {
		if _, err := loadRunContainer(fsys, bad); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("loadRunContainer(%q) = %v", bad, err)
		}
	}
	defs, err := runContainers(fsys)
	if err != nil || len(defs) != 1 || defs[0].Name != "web" {
		t.Errorf("runContainers = %v, %v", defs, err)
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"KILL": 9, "sigkill": 9, "SIGHUP": 1, "term": 15, "10": 10, "SIGRTMIN+3": 37} {
		if got, err := parseSignal(in); err != nil || int(got) != want {
			t.Errorf("parseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "NOPE", "0", "65"} {
		if _, err := parseSignal(bad); err == nil {
			t.Errorf("parseSignal(%q): want an error", bad)
		}
	}
}

func TestRandomName(t *testing.T) {
	a, b := randomName(), randomName()
	for _, name := range []string{a, b} {
		hex, ok := strings.CutPrefix(name, "run-")
		if !ok || len(hex) != 8 || strings.Trim(hex, "0123456789abcdef") != "" {
			t.Errorf("randomName() = %q, want run- and 8 hex digits", name)
		}
	}
	if a == b {
		t.Errorf("randomName() gave %q twice", a)
	}
}
