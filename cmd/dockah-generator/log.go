package main

import (
	"fmt"
	"io"
	"os"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/dockah/dockah/unitgen"
)

// logger reports problems, one line each, where an administrator will see
// them: /dev/kmsg where it exists (on a real host, early at boot, the
// journal reads it), else the journal's native socket (in a container, a
// generator's stderr reaches neither), and stderr always.
type logger struct {
	stderr io.Writer
	kmsg   io.WriteCloser // nil: no /dev/kmsg
	// journal sends one entry; nil when there is no journal either.
	journal func(msg string, vars map[string]string) error
	// connect sets kmsg or journal at the first problem, so that a run
	// without problems touches neither.
	connect func(*logger)
}

// openLogger returns the logger of the generator: kmsg, or the journal,
// and stderr.
func openLogger(stderr io.Writer) *logger {
	return &logger{stderr: stderr, connect: connectSinks}
}

// connectSinks opens /dev/kmsg, or else checks for the journal.
func connectSinks(l *logger) {
	if f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
		l.kmsg = f
	} else if journal.Enabled() {
		l.journal = func(msg string, vars map[string]string) error {
			return journal.Send(msg, journal.PriErr, vars)
		}
	}
}

// problems logs every problem in err.
func (l *logger) problems(err error) {
	if err == nil {
		return
	}
	diags := unitgen.Diagnostics(err)
	for _, d := range diags {
		l.line(d.Unit, d.File, d.Error())
	}
	if len(diags) == 0 {
		l.line("", "", err.Error())
	}
}

// line logs one problem. unit and file, when known, go into journal fields
// so that "journalctl DOCKAH_CONTAINER=web" finds them.
func (l *logger) line(unit, file, msg string) {
	if l.connect != nil {
		l.connect(l)
		l.connect = nil
	}
	msg = "dockah: " + msg
	fmt.Fprintln(l.stderr, msg)
	switch {
	case l.kmsg != nil:
		// One write is one kernel log record; <3> is its priority (err).
		_, _ = io.WriteString(l.kmsg, "<3>"+msg+"\n")
	case l.journal != nil:
		vars := map[string]string{"SYSLOG_IDENTIFIER": "dockah-generator"}
		if unit != "" {
			vars["DOCKAH_CONTAINER"] = unit
		}
		if file != "" {
			vars["DOCKAH_DEFINITION"] = file
		}
		if err := l.journal(msg, vars); err != nil {
			fmt.Fprintf(l.stderr, "dockah: log to the journal: %v\n", err)
		}
	}
}

// Close closes /dev/kmsg.
func (l *logger) Close() error {
	if l.kmsg == nil {
		return nil
	}
	return l.kmsg.Close()
}
