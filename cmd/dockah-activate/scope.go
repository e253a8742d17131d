package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dockah/dockah/cmd/internal/launch"
)

// An attached "dockah run" runs the shim as its own child, in a transient
// scope unit it makes for it, rather than as a transient service: the
// container is the caller's, as crun run's is, and starts without systemd
// spawning anything (docs/cli.md). The CLI tells the shim so in its
// environment:
//
//   - DOCKAH_SCOPE_FD is a pipe on which the CLI writes "d" once the
//     definition is written, and "s" once the shim is in the scope, so
//     the container's processes are born in its cgroup; the shim starts
//     while the CLI builds the definition, and loads its plan while the
//     scope is made;
//   - DOCKAH_SCOPE_ENDED is the CLI's "dockah run-ended" command line, one
//     argument a line, which the shim runs if the CLI has gone by the time
//     the container ends, so that how it ended is recorded (or, with --rm,
//     the container removed) all the same.
const (
	scopeFdEnv    = "DOCKAH_SCOPE_FD"
	scopeEndedEnv = "DOCKAH_SCOPE_ENDED"
)

// scopeRunning is set once the environment said this is dockah run's
// scope.
var scopeRunning bool

// scopeRun is the shim's side of an attached dockah run.
type scopeRun struct {
	ready   *os.File
	parent  int // the CLI
	ended   []string
	signals chan os.Signal
}

// scopeFromEnv returns the scope run the environment describes, or nil.
// Its signals are caught from here on: the stop of the scope, or the
// CLI's Ctrl-C, goes to the container, and the shim stays to record the
// end.
func scopeFromEnv() (*scopeRun, error) {
	v := os.Getenv(scopeFdEnv)
	if v == "" {
		return nil, nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q: want a file descriptor number of 3 or more", scopeFdEnv, v)
	}
	scopeRunning = true
	s := &scopeRun{ready: os.NewFile(uintptr(fd), "scope-ready"), parent: os.Getppid(), signals: make(chan os.Signal, 4)}
	if ended := os.Getenv(scopeEndedEnv); ended != "" {
		s.ended = strings.Split(ended, "\n")
	}
	for _, env := range []string{scopeFdEnv, scopeEndedEnv} {
		os.Unsetenv(env)
	}
	signal.Notify(s.signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	return s, nil
}

// waitFor waits for the CLI's word: 'd' once the definition is written,
// 's' once the shim is in the scope. A client that went away before is
// a run that did not happen.
func (s *scopeRun) waitFor(word byte) error {
	var b [1]byte
	if n, err := s.ready.Read(b[:]); n != 1 || b[0] != word {
		s.ready.Close()
		return fmt.Errorf("dockah run went away before the container started (%q: %v)", b[:n], err)
	}
	if word == 's' {
		s.ready.Close()
	}
	return nil
}

// forward passes the signals caught to the container's init until done
// is closed.
func (s *scopeRun) forward(pid int, done <-chan struct{}) {
	for {
		select {
		case sig := <-s.signals:
			_ = syscall.Kill(pid, sig.(syscall.Signal))
		case <-done:
			return
		}
	}
}

// end records the end of the container as a unit's ExecStopPost= would:
// the stop in the journal and the audit log, the networks left, and, when
// the CLI is no longer there to do it, its run-ended.
func (s *scopeRun) end(name string, prep *launch.Prepared, status int) {
	how, code := "exited", strconv.Itoa(status)
	result := "success"
	if status > 128 && status < 128+65 {
		how, code = "killed", strings.TrimPrefix(unix.SignalName(syscall.Signal(status-128)), "SIG")
		result = "signal"
	} else if status != 0 {
		result = "exit-code"
	}
	if prep.Definition.Container.JoinsNetworks() {
		// Not for a container on no network: a look at every network's
		// state less on the way to the run's end.
		leaveNetworks(name)
	}
	auditEvent(auditRecord{
		Event: "stop", Container: name, Image: prep.Definition.Container.Image, Unit: name + ".scope",
		Result: result, ExitCode: how, ExitStatus: code,
	})
	if os.Getppid() == s.parent || len(s.ended) == 0 {
		return
	}
	cmd := exec.Command(s.ended[0], s.ended[1:]...)
	cmd.Env = append(os.Environ(), "SERVICE_RESULT="+result, "EXIT_CODE="+how, "EXIT_STATUS="+code)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		logLine(name, "record the end of the run: "+err.Error())
	}
}
