package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/dockah/dockah/bench/measure"
)

// variant is one way of running the image: a row of the report.
type variant struct {
	name    string // row label; its units are bench-NAME.{socket,service}
	note    string // what runs
	addr    string // the socket for cold and warm first byte; "" if not measured
	exitCmd string // the start-to-exit command in the box; "" if not measured
	floor   bool   // a bare service: no container, nothing "besides" it

	cold, warm, exit []time.Duration
	mem              *memUse

	// A peer that fails on this machine is left out of a measure, with
	// the reason in the report; dockah and the floor must not fail.
	coldFailed, exitFailed bool
	failures               []string
}

func (v *variant) unit() string { return "bench-" + v.name + ".service" }

// drop leaves a peer out of a measure after err, or returns the error for
// a variant the suite cannot do without.
func (v *variant) drop(what string, err error, detail string) error {
	if v.floor || strings.HasPrefix(v.name, "dockah") {
		return fmt.Errorf("%s: %s: %w\n%s", v.name, what, err, detail)
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	lines := strings.Split(strings.TrimSpace(detail), "\n")
	lines = lines[max(0, len(lines)-3):]
	v.failures = append(v.failures, fmt.Sprintf("%s: %s (%s)", what, first, strings.Join(lines, " / ")))
	logf("%s left out of %s: %s", v.name, what, first)
	return nil
}

func (s *suite) newVariants() []*variant {
	crunRun := func(name string) string {
		return "/usr/bin/crun --cgroup-manager=disabled run --bundle " + bundles + "/" + name + "-true bench-true-" + name
	}
	vs := []*variant{
		{name: "floor", floor: true, addr: addrOf("floor"), exitCmd: rootfs + "/bin/true",
			note: "the server as a plain systemd service, no container; /bin/true run directly"},
		{name: "floor-sandbox", floor: true, addr: addrOf("floor-sandbox"),
			note: "the floor's server under the sandbox of dockah's generated unit (its CapabilityBoundingSet= to SystemCallErrorNumber= lines, from unitgen.Sandbox): what systemd's sandbox costs a bare service"},
		{name: "dockah", addr: addrOf("dockah"), exitCmd: shim + " bench-true",
			note: "dockah-activate, default policy (seccomp, capabilities, masked paths, all namespaces, a user namespace of its own: `userns = \"auto\"`, its range read from the registry at each start, the image layers idmapped); the socket is passed in; /bin/true: the shim run by hand, waiting for the container"},
		{name: "dockah-nosandbox", addr: addrOf("dockah-nosandbox"),
			note: "dockah with a drop-in that turns the generated unit's sandbox off (every directive of unitgen.Sandbox reset): what dockah's own start costs, like for like with crun and runc, which run unsandboxed; the container's policy, and the shim's own sandbox, are unchanged"},
		{name: "dockah-hostids", addr: addrOf("dockah-hostids"),
			note: "dockah with `userns = \"host\"`: the host's user namespace, no range, the layers mounted as they are; against `dockah`, what the default user namespace costs"},
		{name: "dockah-fwd", addr: addrOf("dockah-fwd"),
			note: "dockah with a forwarded socket (`port = 8080`, the server binds its own port inside): the shim stays as the forwarder"},
		{name: "socket-proxyd", addr: addrOf("socket-proxyd"),
			note: "systemd-socket-proxyd, socket-activated, in front of the floor's server, itself socket-activated on a port of its own; both start on the first connection (dockah-fwd's peer)"},
		{name: "dockah-run", exitCmd: "/usr/bin/dockah run --rm true:bench",
			note: "`dockah run --rm`, attached: the shim is the command's child in a transient scope made through systemd's D-Bus API (docs/cli.md); waits for the exit"},
		{name: "crun", addr: addrOf("crun"), exitCmd: crunRun("crun"),
			note: "`crun run`, same bundle, no seccomp, `--cgroup-manager=disabled`"},
		{name: "crun-sandbox", addr: addrOf("crun-sandbox"),
			note: "crun as in `crun`, under the sandbox of dockah's generated unit (as floor-sandbox): like for like with `dockah`, which runs under it"},
		{name: "crun-systemd", exitCmd: "/usr/bin/crun --cgroup-manager=systemd run --bundle " + bundles + "/crun-true bench-true-crun-systemd",
			note: "`crun run`, same bundle, no seccomp, `--cgroup-manager=systemd`: the container in a transient scope of its own, made through systemd's D-Bus API, as dockah run's (start-to-exit only)"},
		{name: "crun-seccomp", addr: addrOf("crun-seccomp"), exitCmd: crunRun("crun-seccomp"),
			note: "`crun run`, same bundle with dockah's seccomp rules, `--cgroup-manager=disabled`"},
		{name: "runc", addr: addrOf("runc"), exitCmd: "/usr/sbin/runc run --bundle " + bundles + "/runc-true bench-true-runc",
			note: "`runc run`, same bundle with dockah's seccomp rules, a cgroup of its own (cgroupfs)"},
		{name: "podman", addr: addrOf("podman"), exitCmd: s.podman.exitCommand(),
			note: "`podman run " + s.podman.runFlags() + "`; served: the unit `podman generate systemd --new` writes (detached, conmon stays); /bin/true: `podman run --rm`"},
		{name: "nspawn", addr: addrOf("nspawn"), exitCmd: nspawnCmd("/bin/true"),
			note: "`systemd-nspawn --register=no --keep-unit --read-only --private-network` on the unpacked image, nspawn's own seccomp filter"},
	}
	if s.podman.broken {
		for i, v := range vs {
			if v.name == "podman" {
				vs = append(vs[:i], vs[i+1:]...)
				break
			}
		}
	}
	return vs
}

// served returns the variants measured through a socket.
func (s *suite) served() []*variant {
	var vs []*variant
	for _, v := range s.variants {
		if v.addr != "" && !v.coldFailed {
			vs = append(vs, v)
		}
	}
	return vs
}

// measureLatency takes cold samples of all served variants in turn (so
// drift hits all alike), then warm ones. It leaves every server running.
func (s *suite) measureLatency() error {
	vs := s.served()
	// Warm the page cache and the seccomp cache; not measured.
	for _, v := range vs {
		if _, err := s.cold(v); err != nil {
			journal, _ := s.box.Journal(v.unit())
			if err := v.drop("cold first byte", err, journal); err != nil {
				return err
			}
			v.coldFailed = true
		}
	}
	vs = s.served()
	for i := 0; i < s.opts.cold; i++ {
		// Every variant stopped and at rest (its teardown, and the
		// kernel's of its namespaces, done), then each started by a
		// first connection in turn: a start does not overlap the
		// teardown of the container it replaces, as after an idle stop.
		// The order is shuffled anew each round, and each start waits
		// a moment after the one before: with a fixed order (rotated),
		// each variant always came right after the same one, and the
		// floor's starts ran into what nspawn's still did after its
		// first byte (the floor measured 20 to 30 ms, the same server
		// under a sandbox 7 to 13 ms, right after the floor).
		if err := s.stopServed(); err != nil {
			return err
		}
		time.Sleep(settle)
		order := append([]*variant{}, vs...)
		shuffle.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, v := range order {
			time.Sleep(startGap)
			d, err := measure.FirstByte(v.addr)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			v.cold = append(v.cold, d)
		}
		if (i+1)%10 == 0 {
			logf("  %d/%d cold rounds", i+1, s.opts.cold)
		}
	}
	for i := 0; i < s.opts.cold; i++ {
		for _, v := range vs {
			d, err := measure.FirstByte(v.addr)
			if err != nil {
				return fmt.Errorf("%s warm: %w", v.name, err)
			}
			v.warm = append(v.warm, d)
		}
	}
	return nil
}

// startGap is the rest before each cold start of a round, so that what
// the start before still does after its first byte is done.
const startGap = 150 * time.Millisecond

// shuffle orders the cold starts of each round; seeded, so that a run can
// be repeated in the same order.
var shuffle = rand.New(rand.NewPCG(16, 17))

// cold stops the service, keeps the socket, and times the first byte.
func (s *suite) cold(v *variant) (time.Duration, error) {
	if _, err := s.box.Systemctl("stop", v.unit()); err != nil {
		return 0, err
	}
	if err := s.box.WaitUnitState(v.unit(), 90*time.Second, "inactive", "failed"); err != nil {
		return 0, err
	}
	return measure.FirstByte(v.addr)
}

// settle is how long the machine rests between stopping the services and
// the cold starts of a round.
const settle = 300 * time.Millisecond

// stopServed stops every served variant's service and waits until each is
// inactive; their sockets stay.
func (s *suite) stopServed() error {
	var units []string
	for _, v := range s.served() {
		units = append(units, v.unit())
	}
	if _, err := s.box.Systemctl(append([]string{"stop"}, units...)...); err != nil {
		return err
	}
	for _, u := range units {
		if err := s.box.WaitUnitState(u, 90*time.Second, "inactive", "failed"); err != nil {
			return err
		}
	}
	return nil
}
