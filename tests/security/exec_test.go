package security

import (
	"fmt"
	"strings"
	"testing"
)

// TestExecWindowDoesNotExposeShim is CVE-2019-5736 against "dockah exec":
// each exec's command is, until it execs, a copy of the host's shim in
// the container's pid namespace. The probe watches for those processes
// (-watch-exe) while the test runs execs into its container, and tries
// to open their /proc/PID/exe. A default container must be refused; one
// given SYS_PTRACE, or every capability (the negative control), gets
// hold of those processes, which proves the probe sees the window, but
// finds only a sealed in-memory copy of the shim, never the host's file.
func TestExecWindowDoesNotExposeShim(t *testing.T) {
	b := attackBox(t)
	// The execs take a second or two; the probe watches for longer, so
	// no exec is cut off by its container's end.
	const watch, execs = "6s", 10
	for _, c := range []struct{ name, extra, want, detail string }{
		{"default", "\n[security]\nuserns = \"host\"\n", "blocked", ""},
		{"ptrace", "\n[security]\nuserns = \"host\"\ncapabilities_add = [\"SYS_PTRACE\"]\n", "blocked", "caught with only a sealed copy"},
		{"weakened", weakened(t, b), "blocked", "caught with only a sealed copy"},
		// In a user namespace of its own the command starts as the exec
		// trampoline, host root's until it joins: the probe, with every
		// capability of its own namespace, cannot even hold it.
		{"userns-weakened", weakenedWith(t, b, "auto"), "blocked", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := "attack-exec-" + c.name
			def := definition("false", fmt.Sprintf(`command = ["-watch-exe", %q, "-watch-count", "1000"]`, watch)+"\n"+c.extra)
			began, startErr := launch(t, b, name, def)
			for i := 0; startErr == nil && i < execs; i++ {
				if _, err := b.Run("dockah", "exec", name, "/attack", "-child", "noop"); err != nil {
					t.Errorf("exec %d: %v", i, err)
					break
				}
			}
			run, ok, journal := collect(t, b, name, began, startErr)
			if !ok {
				t.Fatalf("container %s did not run to a clean exit: %s", name, journal)
			}
			rep, found := run.reports["exec-window-exe"]
			if !found {
				t.Fatalf("the probe did not report the exec window:\n%s", journal)
			}
			t.Logf("%s: %s", rep.Result, rep.Detail)
			if rep.Result != c.want {
				t.Errorf("exec window: %s, want %s: %s", rep.Result, c.want, rep.Detail)
			}
			// The probe must have caught processes in the window, or it
			// proves nothing: with ptrace it holds their copies.
			if c.detail != "" && (!strings.Contains(rep.Detail, c.detail) || strings.Contains(rep.Detail, " 0 caught with only a sealed copy")) {
				t.Errorf("exec window: the probe held no process in the window: %s", rep.Detail)
			}
		})
	}
}
