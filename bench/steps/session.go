package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dockah/dockah/bench/benchimage"
	"github.com/dockah/dockah/bench/measure"
	"github.com/dockah/dockah/tests/box"
	"github.com/dockah/dockah/tests/images"
	"github.com/dockah/dockah/unitgen"
)

// session is the box and what was set up in it.
type session struct {
	box *box.Box
}

// Inside the box; under the store, a bind of the host's file system
// (overlayfs cannot live on the box's own overlay root).
const imageTar = "/var/lib/dockah/steps/image.tar"

// Ports on the host's loopback (the box shares the host's network).
var listen = map[string]string{"steps-served": "127.0.0.1:18591", "steps-nosandbox": "127.0.0.1:18592", "steps-noplan": "127.0.0.1:18593"}

func (s *session) setup() error {
	entries, err := benchimage.Entries()
	if err != nil {
		return err
	}
	if err := images.WriteTar(filepath.Join(s.box.StoreDir(), "steps", "image.tar"), entries); err != nil {
		return err
	}
	for _, ref := range []struct{ name, entrypoint string }{{"hello:steps", "/hello"}, {"true:steps", "/bin/true"}} {
		if _, err := s.box.Run("dockah", "image", "import", "-q", imageTar, "--name", ref.name, "--entrypoint", ref.entrypoint); err != nil {
			return err
		}
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
	if _, err := s.box.Systemctl("daemon-reload"); err != nil {
		return err
	}
	_, err = s.box.Systemctl("start", "steps-served.socket", "steps-nosandbox.socket", "steps-noplan.socket")
	return err
}

// writeUnsandboxed resets, in a drop-in, every directive of the unit's
// sandbox, to its empty value (a list) or its default.
func (s *session) writeUnsandboxed(def string) error {
	d, err := unitgen.Parse("steps-nosandbox", unitgen.File{Path: "/etc/dockah/containers/steps-nosandbox.toml", Data: []byte(def)})
	if err != nil {
		return err
	}
	resets := map[string]string{"CapabilityBoundingSet": "~", "UMask": "0022", "DevicePolicy": "auto"}
	lists := map[string]bool{"ReadWritePaths": true, "IPAddressDeny": true, "IPAddressAllow": true, "DeviceAllow": true,
		"RestrictAddressFamilies": true, "SystemCallArchitectures": true, "SystemCallFilter": true, "SystemCallErrorNumber": true}
	var sb strings.Builder
	sb.WriteString("[Service]\n")
	seen := map[string]bool{}
	for _, dir := range unitgen.Sandbox(d) {
		if seen[dir.Key] {
			continue
		}
		seen[dir.Key] = true
		v, ok := resets[dir.Key]
		switch {
		case ok:
		case lists[dir.Key]:
			v = ""
		default:
			v = "no"
		}
		sb.WriteString(dir.Key + "=" + v + "\n")
	}
	return s.box.WriteFile("/etc/systemd/system/steps-nosandbox.service.d/nosandbox.conf", []byte(sb.String()), 0o644)
}

// served takes n cold starts of unit apart: each stops the service, rests,
// connects and reads the first byte; then the journal's trace lines of
// each start are placed on the time since its connection began.
func (s *session) served(unit string, n int) ([]sample, error) {
	service := unit + ".service"
	var starts []int64
	var firstBytes []time.Duration
	for i := 0; i <= n; i++ { // one warm-up start
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
			return nil, fmt.Errorf("first byte: %w\n%s", err, out)
		}
		if i > 0 {
			starts = append(starts, t0.UnixMicro())
			firstBytes = append(firstBytes, d)
		}
	}
	// A start's lines are those before the next start's connection.
	ends := append(starts[1:len(starts):len(starts)], starts[len(starts)-1]+time.Second.Microseconds())
	time.Sleep(time.Second) // the journal takes the last lines in
	out, err := s.box.Run("journalctl", "--no-pager", "-o", "cat", "-u", service)
	if err != nil {
		return nil, err
	}
	var samples []sample
	for i := range starts {
		sm := parseTrace(out, starts[i], ends[i])
		sm.steps["first byte (client)"] = firstBytes[i]
		samples = append(samples, sm)
	}
	return samples, nil
}

// dockahRun runs dockah run --rm n times (after a warm-up) with tracing;
// date(1) before and after marks the command's start and end.
func (s *session) dockahRun(n int) ([]sample, error) {
	const script = `date +%s%6N; DOCKAH_TRACE=1 dockah run --rm true:steps 2>&1; echo "status $?"; date +%s%6N`
	var samples []sample
	for i := 0; i <= n; i++ {
		out, err := s.box.Run("sh", "-c", script)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		from, err1 := strconv.ParseInt(lines[0], 10, 64)
		to, err2 := strconv.ParseInt(lines[len(lines)-1], 10, 64)
		if err1 != nil || err2 != nil || !strings.Contains(out, "status 0") {
			return nil, fmt.Errorf("unexpected output:\n%s", out)
		}
		if i == 0 {
			continue
		}
		sm := parseTrace(out, from, to+1)
		sm.steps["exit (date after)"] = time.Duration(to-from) * time.Microsecond
		samples = append(samples, sm)
	}
	return samples, nil
}
