// Command attack is dockah's attack probe. Run as root inside a container,
// it tries, one after the other, what a container must not be able to do
// (mount, unshare, keyctl, ptrace of pid 1, reboot, raw sockets, bpf,
// module loading, writes to /proc/sys and /sys, reaching the shim's binary
// through /proc/1/exe...) and prints one JSON line per attempt, then a
// summary line:
//
//	{"attack":"mount","allowed":false,"result":"blocked","detail":"mount tmpfs: EPERM"}
//	{"summary":{"attacks":32,"blocked":30,"allowed":[],"absent":["proc-sysrq-write","proc-kcore-read"],"errors":[]}}
//
// result is "blocked", "allowed", "absent" (the kernel lacks the file or
// the syscall, so the attempt says nothing) or "error" (the probe could
// not tell); allowed is result == "allowed".
//
// Two rules make the probe useful as a test:
//
//   - Every verdict comes from what the kernel answered, never from what
//     the probe expects: the same binary in a deliberately weakened
//     container (seccomp = "unconfined", every capability) reports the
//     attacks as allowed, which is how the tests prove they would notice a
//     regression.
//   - Every attempt is harmless if it succeeds, even with every capability
//     and no filter on a real kernel: reboot only asks to turn Ctrl-Alt-Del
//     off, and only inside a pid namespace where the kernel refuses it
//     anyway; the clock is set to the time it already has; modules and
//     kexec images are garbage the kernel rejects after its permission
//     check; files under /proc/sys and /sys are opened for writing and
//     closed without a write; ptrace uses PTRACE_SEIZE (no stop) from a
//     child that exits at once, which detaches.
//
// The probe never hangs: each attempt has a deadline, after which it is
// reported as an error and the probe goes on. It refuses to run outside a
// container's pid namespace unless given -force.
//
// -watch-exe DURATION replaces the attacks by one that needs a partner:
// while the test runs "dockah exec" into the container, the probe tries to
// reach the host's shim binary through /proc/PID/exe of each new process
// before it execs its command (CVE-2019-5736; see watchExe).
//
// -look PATH (repeatable) also reports what PATH is inside the container,
// and -no-attacks skips the attacks: the tests use both to see where the
// mounts of an image with a hostile layout landed. The mounts the
// container sees are always listed, in one line.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// attemptTimeout bounds one attempt; a child process gets a little less.
const attemptTimeout = 10 * time.Second

// looks collects the -look flags.
type looks []string

func (l *looks) String() string     { return strings.Join(*l, ",") }
func (l *looks) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	// Before anything else can open a file: the descriptors the
	// container was started with.
	fds := listFDs()
	if len(os.Args) > 1 && os.Args[1] == childArg {
		os.Exit(runChild(os.Args[2:]))
	}
	var (
		paths     looks
		noAttacks = flag.Bool("no-attacks", false, "only list the mounts and the -look paths")
		force     = flag.Bool("force", false, "run outside a container's pid namespace (DANGEROUS as root on a host)")
		watch     = flag.Duration("watch-exe", 0, "instead of the attacks, watch for this long for processes started by \"dockah exec\" and try to reach their /proc/PID/exe")
		watchN    = flag.Int("watch-count", 20, "with -watch-exe, stop after this many processes")
	)
	flag.Var(&paths, "look", "report what `PATH` is (repeatable)")
	flag.Parse()

	if err := checkContained(); err != nil && !*force {
		emit(map[string]string{"error": err.Error()})
		os.Exit(3)
	}
	var s summary
	if *watch > 0 {
		r := watchExe(*watch, *watchN)
		emit(r)
		s.add(r)
	} else if !*noAttacks {
		e, err := newEnv(fds)
		if err != nil {
			emit(map[string]string{"error": err.Error()})
			os.Exit(3)
		}
		for _, a := range attacks {
			r := attempt(a, e)
			emit(r)
			s.add(r)
		}
		e.close()
	}
	emit(map[string]any{"mounts": mountInventory()})
	for _, p := range paths {
		emit(look(p))
	}
	emit(map[string]any{"summary": s})
}

// attempt runs one attack with a deadline. An attempt that does not
// return in time is left behind: the probe exits when it is done.
func attempt(a attack, e *env) report {
	done := make(chan outcome, 1)
	go func() { done <- a.run(e) }()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(attemptTimeout):
		o = outcome{failed, fmt.Sprintf("no answer after %s", attemptTimeout)}
	}
	return report{Attack: a.name, Allowed: o.verdict == allowed, Result: o.verdict, Detail: o.detail}
}

// emit prints v as one JSON line; one write, so a line reaches the
// journal whole.
func emit(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	os.Stdout.Write(append(data, '\n'))
}

// report is one line of output.
type report struct {
	Attack  string  `json:"attack"`
	Allowed bool    `json:"allowed"`
	Result  verdict `json:"result"`
	Detail  string  `json:"detail"`
}

// summary is the last line: how many attempts, and which were not blocked.
type summary struct {
	Attacks int      `json:"attacks"`
	Blocked int      `json:"blocked"`
	Allowed []string `json:"allowed"`
	Absent  []string `json:"absent"`
	Errors  []string `json:"errors"`
}

func (s *summary) add(r report) {
	s.Attacks++
	switch r.Result {
	case blocked:
		s.Blocked++
	case allowed:
		s.Allowed = append(s.Allowed, r.Attack)
	case absent:
		s.Absent = append(s.Absent, r.Attack)
	default:
		s.Errors = append(s.Errors, r.Attack)
	}
}

// MarshalJSON writes empty lists as [] rather than null.
func (s summary) MarshalJSON() ([]byte, error) {
	type plain summary
	for _, l := range []*[]string{&s.Allowed, &s.Absent, &s.Errors} {
		if *l == nil {
			*l = []string{}
		}
	}
	return json.Marshal(plain(s))
}
