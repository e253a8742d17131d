package main

import (
	"fmt"
	"strings"
)

// renderGoals sets this run's ratios against the goals of issue 16, each
// from samples of this one run: dockah's cold first byte against the
// floor and against crun without seccomp, and dockah run's start-to-exit
// against crun run's.
func (s *suite) renderGoals(sb *strings.Builder) {
	byName := map[string]*variant{}
	for _, v := range s.variants {
		byName[v.name] = v
	}
	floor, dockah, crun, run, crunScope := byName["floor"], byName["dockah"], byName["crun"], byName["dockah-run"], byName["crun-systemd"]
	fwd, proxyd, crunSandbox := byName["dockah-fwd"], byName["socket-proxyd"], byName["crun-sandbox"]
	type goal struct {
		what, goal string
		a, b       *variant
		exit       bool
	}
	var rows []string
	for _, g := range []goal{
		{"cold first byte, dockah / floor", "≤ 1.30x", dockah, floor, false},
		{"cold first byte, dockah / crun (no seccomp)", "≤ 1.00x", dockah, crun, false},
		{"cold first byte, dockah / crun (no seccomp) under the same unit sandbox", "(like for like)", dockah, crunSandbox, false},
		{"cold first byte through a forwarded socket, dockah-fwd / systemd-socket-proxyd", "≤ 1.00x", fwd, proxyd, false},
		{"start-to-exit of /bin/true, dockah run --rm / crun run", "≤ 3.00x", run, crun, true},
		{"start-to-exit of /bin/true, dockah run --rm / crun run in a scope of its own", "(like for like)", run, crunScope, true},
	} {
		if g.a == nil || g.b == nil {
			continue
		}
		a, b := g.a.cold, g.b.cold
		if g.exit {
			a, b = g.a.exit, g.b.exit
		}
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		rows = append(rows, fmt.Sprintf("| %s | %s / %s | %s | %s |", g.what, ms(a, 0.5), ms(b, 0.5), ratio(a, b), g.goal))
	}
	if len(rows) == 0 {
		return
	}
	sb.WriteString("### The goals of issue 16, in this run\n\n| ratio | medians | this run | goal |\n|---|---|---|---|\n")
	sb.WriteString(strings.Join(rows, "\n") + "\n\n")
}
