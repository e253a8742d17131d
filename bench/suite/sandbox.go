package main

import (
	"fmt"
	"strings"

	"github.com/dockah/dockah/bench/measure"
	"github.com/dockah/dockah/unitgen"
)

// The generated unit's sandbox costs systemd time at every start (its
// seccomp filters, its private network; with unit_sandbox = "systemd" also
// a mount namespace with a dozen read-only and inaccessible paths, which
// by default the shim builds itself, in a fraction of a millisecond). Two
// variants tell that cost from dockah's own: the floor's server under the
// same sandbox, and dockah with the sandbox turned off by a drop-in.

// benchSandbox is the sandbox of the served dockah definition.
func benchSandbox() ([]unitgen.SandboxDirective, error) {
	d, err := unitgen.Parse("bench-dockah", unitgen.File{
		Path: "/etc/dockah/containers/bench-dockah.toml",
		Data: []byte(servedDefinition("dockah")),
	})
	if err != nil {
		return nil, fmt.Errorf("the bench definition: %w", err)
	}
	return unitgen.Sandbox(d), nil
}

// sandboxText is the sandbox as the lines of a [Service] section, for a
// unit written by hand.
func sandboxText(sandbox []unitgen.SandboxDirective) string {
	var sb strings.Builder
	for _, dir := range sandbox {
		sb.WriteString(dir.String() + "\n")
	}
	return sb.String()
}

// writeUnsandboxed turns the sandbox of bench-dockah-nosandbox off.
func (s *suite) writeUnsandboxed() error {
	sandbox, err := benchSandbox()
	if err != nil {
		return err
	}
	dropIn, err := measure.SandboxReset(sandbox, nil)
	if err != nil {
		return err
	}
	return s.box.WriteFile("/etc/systemd/system/bench-dockah-nosandbox.service.d/nosandbox.conf", []byte(dropIn), 0o644)
}

// renderSandbox takes the cold first byte apart: what systemd's sandbox
// costs a bare server and dockah, and dockah against the floor and
// against crun with the sandbox on both sides or on neither.
func (s *suite) renderSandbox(sb *strings.Builder) {
	byName := map[string]*variant{}
	for _, v := range s.variants {
		if len(v.cold) > 0 {
			byName[v.name] = v
		}
	}
	floor, floorSB := byName["floor"], byName["floor-sandbox"]
	dockah, dockahNoSB := byName["dockah"], byName["dockah-nosandbox"]
	if floor == nil || floorSB == nil || dockah == nil || dockahNoSB == nil {
		return
	}
	diff := func(a, b *variant) string { return fmt.Sprintf("%+.1f ms", msf(median(a.cold))-msf(median(b.cold))) }
	sb.WriteString("### The unit's sandbox, and dockah's own cost\n\n")
	sb.WriteString("| cold first byte, median | without the sandbox | with dockah's sandbox | what the sandbox adds |\n|---|---|---|---|\n")
	fmt.Fprintf(sb, "| the server as a plain service | %s (floor) | %s (floor-sandbox) | %s |\n", ms(floor.cold, 0.5), ms(floorSB.cold, 0.5), diff(floorSB, floor))
	fmt.Fprintf(sb, "| dockah | %s (dockah-nosandbox) | %s (dockah) | %s |\n", ms(dockahNoSB.cold, 0.5), ms(dockah.cold, 0.5), diff(dockah, dockahNoSB))
	fmt.Fprintf(sb, "| dockah / the same server under the same unit | %s | %s | |\n", ratio(dockahNoSB.cold, floor.cold), ratio(dockah.cold, floorSB.cold))
	if crun, crunSB := byName["crun"], byName["crun-sandbox"]; crun != nil && crunSB != nil {
		fmt.Fprintf(sb, "| crun, no seccomp | %s (crun) | %s (crun-sandbox) | %s |\n", ms(crun.cold, 0.5), ms(crunSB.cold, 0.5), diff(crunSB, crun))
		fmt.Fprintf(sb, "| dockah / crun under the same unit | %s | %s | |\n", ratio(dockahNoSB.cold, crun.cold), ratio(dockah.cold, crunSB.cold))
	} else if crun != nil {
		fmt.Fprintf(sb, "| crun (unsandboxed unit) | %s | — | |\n", ms(crun.cold, 0.5))
	}
	sb.WriteString("\nThe sandbox is the generated unit's (the default, unit_sandbox = \"shim\": CapabilityBoundingSet=, NoNewPrivileges=, the system call filters, PrivateNetwork=, IPAddressDeny=, DevicePolicy=, …, no mount namespace); systemd applies it before the first process runs, so the bare server pays it as much as dockah does. The read-only view of the host that systemd's ProtectSystem= and the other mount-namespace directives made, the shim builds itself, in both dockah rows (docs/security.md). The container's own policy (its namespaces, masks, seccomp filter and capabilities) is the same in both dockah rows.\n\n")
}
