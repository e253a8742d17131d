package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dockah/dockah/bench/benchimage"
	"github.com/dockah/dockah/bench/measure"
	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/unitgen"
)

// session is the box and what was set up in it.
type session struct {
	box *box.Box
	// base is the bin/ of another build (-base), installed beside this
	// one: its shim runs steps-base, its CLI dockah-base.
	base string
	// ablated maps, with -ablate, each unit that has one directive of
	// the sandbox reset to that directive's key.
	ablated map[string]string
	ablate  bool
}

// planAblation names a unit for every directive of the served unit's
// sandbox, on ports from 18560 on.
func (s *session) planAblation() error {
	sandbox, err := sandboxOf("steps-served", "[container]\nimage = \"hello:steps\"\nread_only = true\n[[socket]]\nlisten = \"127.0.0.1:18591\"\n")
	if err != nil {
		return err
	}
	s.ablated = map[string]string{}
	for i, key := range measure.SandboxKeys(sandbox) {
		unit := fmt.Sprintf("steps-ablate-%02d", i)
		s.ablated[unit] = key
		listen[unit] = fmt.Sprintf("127.0.0.1:%d", 18560+i)
	}
	return nil
}

// The other build's binaries, in the box.
const (
	// Its own directory: the shim's constructor confines only a binary
	// named dockah-activate.
	baseShim = "/usr/libexec/dockah/base/dockah-activate"
	baseCLI  = "/usr/bin/dockah-base"
)

// Ports on the host's loopback (the box shares the host's network).
var listen = map[string]string{"steps-served": "127.0.0.1:18591", "steps-nosandbox": "127.0.0.1:18592", "steps-noplan": "127.0.0.1:18593", "steps-hostids": "127.0.0.1:18596"}

func (s *session) setup() error {
	if s.ablate {
		if err := s.planAblation(); err != nil {
			return err
		}
	}
	if s.base != "" {
		listen["steps-base"] = "127.0.0.1:18594"
		for from, to := range map[string]string{"dockah-activate": baseShim, "dockah": baseCLI} {
			data, err := os.ReadFile(filepath.Join(s.base, from))
			if err != nil {
				return fmt.Errorf("-base: %w", err)
			}
			if err := s.box.WriteFile(to, data, 0o755); err != nil {
				return err
			}
		}
		// Its units run the other shim.
		exec := "[Service]\nExecStart=\nExecStart=" + baseShim + " steps-base\n"
		if err := s.box.WriteFile("/etc/systemd/system/steps-base.service.d/base.conf", []byte(exec), 0o644); err != nil {
			return err
		}
	}
	if err := benchimage.Import(s.box, "steps", benchimage.Ref{Name: "hello:steps", Entrypoint: "/hello"}, benchimage.Ref{Name: "true:steps", Entrypoint: "/bin/true"}); err != nil {
		return err
	}
	def := func(image string, extra string) string {
		return "[container]\nimage = \"" + image + "\"\nread_only = true\n" + extra + "\n[systemd.unit]\nStartLimitIntervalSec = \"0\"\n"
	}
	defs := map[string]string{
		"steps-true": def("true:steps", ""),
	}
	for name, addr := range listen {
		defs[name] = def("hello:steps", "\n[[socket]]\nlisten = \""+addr+"\"\n")
	}
	defs["steps-hostids"] += "\n[security]\nuserns = \"host\"\n"
	for name, d := range defs {
		if err := s.box.WriteFile("/etc/dockah/containers/"+name+".toml", []byte(d), 0o644); err != nil {
			return err
		}
		trace := "[Service]\nEnvironment=DOCKAH_TRACE=1\n"
		if name == "steps-noplan" {
			trace += "Environment=DOCKAH_PLAN=0\n"
		}
		if err := s.box.WriteFile("/etc/systemd/system/"+name+".service.d/trace.conf", []byte(trace), 0o644); err != nil {
			return err
		}
	}
	if err := s.writeUnsandboxed(defs["steps-nosandbox"]); err != nil {
		return err
	}
	for unit, key := range s.ablated {
		key := key
		d := def("hello:steps", "\n[[socket]]\nlisten = \""+listen[unit]+"\"\n")
		if err := s.box.WriteFile("/etc/dockah/containers/"+unit+".toml", []byte(d), 0o644); err != nil {
			return err
		}
		if err := s.writeReset(unit, d, func(k string) bool { return k == key }); err != nil {
			return err
		}
	}
	if _, err := s.box.Systemctl("daemon-reload"); err != nil {
		return err
	}
	var sockets []string
	for name := range listen {
		sockets = append(sockets, name+".socket")
	}
	_, err := s.box.Systemctl(append([]string{"start"}, sockets...)...)
	return err
}

// writeUnsandboxed resets, in a drop-in, every directive of the unit's
// sandbox, to its empty value (a list) or its default.
func (s *session) writeUnsandboxed(def string) error {
	return s.writeReset("steps-nosandbox", def, nil)
}

// writeReset resets, in a drop-in of unit, the directives of the unit's
// sandbox that only accepts (all of them for nil).
func (s *session) writeReset(unit, def string, only func(string) bool) error {
	sandbox, err := sandboxOf(unit, def)
	if err != nil {
		return err
	}
	dropIn, err := measure.SandboxReset(sandbox, only)
	if err != nil {
		return err
	}
	return s.box.WriteFile("/etc/systemd/system/"+unit+".service.d/reset.conf", []byte(dropIn), 0o644)
}

// sandboxOf is the generated unit's sandbox for the definition def.
func sandboxOf(unit, def string) ([]unitgen.SandboxDirective, error) {
	d, err := unitgen.Parse(unit, unitgen.File{Path: "/etc/dockah/containers/" + unit + ".toml", Data: []byte(def)})
	if err != nil {
		return nil, err
	}
	return unitgen.Sandbox(d), nil
}

// served takes n cold starts of each unit apart, in rounds: every unit
// stopped, 300 ms of rest, one connection, in an order that rotates from
// round to round so that the machine's drift hits all alike. The
// journal's trace lines of each start are placed on the time since its
// connection began.
func (s *session) served(units []string, n int) (map[string][]sample, error) {
	starts := map[string][]int64{}
	firstBytes := map[string][]time.Duration{}
	// The definitions must be older than the shim's racy margin for the
	// first start to store its plan.
	time.Sleep(2500 * time.Millisecond)
	// Each round in an order shuffled anew (seeded): with a fixed order,
	// a unit always came right after the same one, and paid for what
	// that one still did (bench/suite, measureLatency).
	shuffle := rand.New(rand.NewPCG(16, 17))
	for r := 0; r <= n; r++ { // round 0 warms up
		order := append([]string{}, units...)
		shuffle.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, unit := range order {
			service := unit + ".service"
			if _, err := s.box.Systemctl("stop", service); err != nil {
				return nil, err
			}
			if err := s.box.WaitUnitState(service, 10*time.Second, "inactive", "failed"); err != nil {
				return nil, err
			}
			time.Sleep(300 * time.Millisecond)
			t0 := time.Now()
			d, err := measure.FirstByte(listen[unit])
			if err != nil {
				out, _ := s.box.Journal(service)
				return nil, fmt.Errorf("%s: first byte: %w\n%s", unit, err, out)
			}
			if r > 0 {
				starts[unit] = append(starts[unit], t0.UnixMicro())
				firstBytes[unit] = append(firstBytes[unit], d)
			}
		}
	}
	time.Sleep(time.Second) // the journal takes the last lines in
	out := map[string][]sample{}
	for _, unit := range units {
		journal, err := s.box.Run("journalctl", "--no-pager", "-o", "cat", "-u", unit+".service")
		if err != nil {
			return nil, err
		}
		// A start's lines are those before the next start's connection.
		st := starts[unit]
		ends := append(st[1:len(st):len(st)], st[len(st)-1]+time.Second.Microseconds())
		for i := range st {
			sm := parseTrace(journal, st[i], ends[i])
			sm.add("first byte (client)", firstBytes[unit][i])
			out[unit] = append(out[unit], sm)
		}
	}
	return out, nil
}

// dockahRun runs dockah run --rm n times (after a warm-up) with tracing,
// and with -base as many times the other build's, alternating; date(1)
// before and after marks the command's start and end.
func (s *session) dockahRun(n int) (map[string][]sample, error) {
	clis := map[string]string{"run": "dockah"}
	if s.base != "" {
		clis["run-base"] = baseCLI
	}
	out := map[string][]sample{}
	args := "--rm"
	if runArgs != "" {
		args = runArgs
	}
	for i := 0; i <= n; i++ {
		for name, cli := range clis {
			// The sleep lets the move of sh into that service's cgroup
			// age: a move less than an RCU grace period before makes the
			// next one cheap (cmd/dockah/run_prime.go), which a command
			// typed in a shell does not have.
			script := `sleep 0.2; date +%s%6N; DOCKAH_TRACE=1 ` + cli + ` run ` + args + ` true:steps 2>&1; echo "status $?"; date +%s%6N`
			// In a transient service of the box's systemd, as a user's
			// command runs in a unit's cgroup (the box's nsenter leaves
			// a process in the host's, outside the box's cgroup
			// namespace), and as bench/suite runs it.
			text, err := s.box.Run("systemd-run", "--quiet", "--wait", "--pipe", "--collect", "-p", "Delegate=yes", "sh", "-c", script)
			if err != nil {
				return nil, err
			}
			lines := strings.Split(strings.TrimSpace(text), "\n")
			from, err1 := strconv.ParseInt(lines[0], 10, 64)
			to, err2 := strconv.ParseInt(lines[len(lines)-1], 10, 64)
			if err1 != nil || err2 != nil || !strings.Contains(text, "status 0") {
				return nil, fmt.Errorf("unexpected output:\n%s", text)
			}
			if i == 0 {
				continue
			}
			sm := parseTrace(text, from, to+1)
			sm.add("exit (date after)", time.Duration(to-from)*time.Microsecond)
			out[name] = append(out[name], sm)
		}
	}
	return out, nil
}
