package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dockah/dockah/activation"
	"github.com/dockah/dockah/cmd/internal/launch"
	"github.com/dockah/dockah/machined"
	"github.com/dockah/dockah/unitgen"
)

// exitConfig (EX_CONFIG) is the exit status for a start that cannot work
// until someone changes something: a bad definition, a missing image. The
// generated unit lists it in RestartPreventExitStatus=, so systemd does not
// restart in a loop.
const exitConfig = 78

// configError marks errors that restarting will not fix.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// prepared is a container ready to start.
type prepared struct {
	def *unitgen.Definition
	cfg *activation.Config
}

// prepare loads the definition and the image and computes the container's
// configuration (package launch, which the CLI's exec shares).
func prepare(name string, sockets []string, printable bool) (*prepared, error) {
	mode := launch.ModeStart
	if printable {
		mode = launch.ModePrint
	}
	prep, err := launch.Prepare(name, launch.Options{
		Mode: mode, Definitions: definitionFS, StoreRoot: launch.StoreRoot(), Sockets: sockets,
		NotifySocket: os.Getenv(activation.NotifySocketEnv),
		Log:          func(msg string) { logLine(name, msg) },
	})
	if launch.IsConfigError(err) {
		return nil, configError{err}
	}
	if err != nil {
		return nil, err
	}
	return &prepared{def: prep.Definition, cfg: prep.Config}, nil
}

// logLine writes one line to the journal (the shim's stderr). A leading
// "<N>" priority is moved to the front of the line, where journald reads it.
func logLine(name, msg string) {
	prefix := ""
	if len(msg) > 3 && msg[0] == '<' && msg[2] == '>' {
		prefix, msg = msg[:3], msg[3:]
	}
	fmt.Fprintf(os.Stderr, "%sdockah-activate: %s: %s\n", prefix, name, msg)
}

// start runs the container. Under systemd it returns as soon as the
// entrypoint runs, after handing systemd the container's pid; by hand
// (no NOTIFY_SOCKET) it waits and returns the container's exit status.
func start(name string) (status int, err error) {
	defer func() {
		if err != nil {
			auditStartFailed(name, err)
		}
	}()
	sockets, names, err := passedSockets()
	if err != nil {
		return 0, err
	}
	prep, err := prepare(name, names, false)
	if err != nil {
		return 0, err
	}
	registered := make(chan error, 1)
	c, err := activation.Start(prep.cfg, activation.StartOptions{
		Sockets: sockets,
		Started: func(pid int) { go func() { registered <- register(name, pid) }() },
	})
	if err != nil {
		return 0, err
	}
	if err := <-registered; err != nil {
		fmt.Fprintf(os.Stderr, "dockah-activate: %s: not registered with systemd-machined: %v\n", name, err)
	}
	state := fmt.Sprintf("MAINPID=%d", c.Pid)
	if !prep.def.Container.Notify {
		state += "\nREADY=1"
	}
	err = activation.Notify(state, 10*time.Second)
	if errors.Is(err, activation.ErrNoNotifySocket) {
		auditStarted(name, prep, c.Pid)
		return c.Wait()
	}
	if err != nil {
		return 0, err
	}
	auditStarted(name, prep, c.Pid)
	return 0, nil
}

func register(name string, pid int) error {
	conn, err := machined.New()
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Register(machined.Machine{
		Name: machined.Name(name), Service: "dockah", Class: "container", Leader: pid,
	})
}

// passedSockets takes the sockets systemd passed (sd_listen_fds): fds 3
// and on, with their names. They are handed on as they are, so they must
// not be closed on exec.
func passedSockets() ([]*os.File, []string, error) {
	pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID"))
	count, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if pid != os.Getpid() || count <= 0 {
		return nil, nil, nil
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	files := make([]*os.File, count)
	out := make([]string, count)
	for i := range files {
		files[i] = os.NewFile(uintptr(3+i), "socket")
		out[i] = "unknown"
		if i < len(names) && names[i] != "" {
			out[i] = names[i]
		}
	}
	return files, out, nil
}
