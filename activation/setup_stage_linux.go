package activation

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// stageEnv carries the fd of the sync socket to a stage; its presence is
// what makes the binary run as one: the app stage or the exec stage when
// appStageEnv or execStageEnv says so, else the setup stage.
const stageEnv = "_DOCKAH_STAGE"

// Messages on the sync socket from a stage to the process that started it.
const (
	msgExec  = 'X' // setup done, exec follows; EOF after it means exec succeeded
	msgError = 'E' // followed by a one-line error
)

// ExitSetupFailed is the exit status of a container whose setup failed
// before its entrypoint ran. It is not one systemd treats as clean, so
// Restart=on-failure applies.
const ExitSetupFailed = 125

func init() {
	// The setup stage runs on the main thread: the init re-executes
	// itself from it, and the app stage's parent-death signal is tied to
	// the thread that started it.
	if IsStage() {
		runtime.LockOSThread()
	}
}

// IsStage reports whether this process was started as a stage of a
// container (setup, app or exec). main calls it first thing and, if so,
// RunStage.
func IsStage() bool { return os.Getenv(stageEnv) != "" }

// RunStage runs the stage this process was started as: the setup stage
// (runSetupStage), the app stage (runAppStage) or the exec stage
// (runExecStage). It only returns through exit.
func RunStage() {
	// Credentials, the seccomp filter and no_new_privs are per thread:
	// everything from here to exec happens on this one.
	runtime.LockOSThread()
	fd, err := strconv.Atoi(os.Getenv(stageEnv))
	if err != nil || fd < 3 {
		fmt.Fprintf(os.Stderr, "dockah-activate: bad %s\n", stageEnv)
		os.Exit(ExitSetupFailed)
	}
	os.Unsetenv(stageEnv)
	Trace("stage: running")
	sync := os.NewFile(uintptr(fd), "sync")
	switch {
	case os.Getenv(appStageEnv) != "":
		err = runAppStage(sync)
	case os.Getenv(execStageEnv) != "":
		err = runExecStage(sync)
	default:
		err = runSetupStage(sync)
	}
	// Only failures get here. An entrypoint that is not there or cannot
	// be run has the status shells give it, which the starter reads.
	report(sync, err)
	if status, ok := CommandStatus(err); ok {
		os.Exit(status)
	}
	os.Exit(ExitSetupFailed)
}

// report sends err to the process that started the stage. A command that
// is not there or cannot be run carries its status (statusMark, then the
// status as a byte), since that process may not be the stage's parent
// and cannot read its exit status.
func report(sync *os.File, err error) {
	msg := []byte{msgError}
	if status, ok := CommandStatus(err); ok {
		msg = append(msg, statusMark, byte(status))
	}
	msg = append(msg, err.Error()...)
	_, _ = sync.Write(msg)
}

// statusMark starts the status of an error message; no message text
// starts with it.
const statusMark = 0x01

// parseReport reads an error message of report.
func parseReport(msg []byte) error {
	if len(msg) >= 2 && msg[0] == statusMark {
		return statusError{int(msg[1]), errors.New(string(msg[2:]))}
	}
	return errors.New(string(msg))
}

// runSetupStage is the setup stage: it runs inside the container's new
// namespaces as its pid 1, reads the configuration from the shim, builds
// the root, applies the policy and execs the entrypoint; or, with
// init = true, starts the app stage first and becomes the init once the
// root is built.
func runSetupStage(sync *os.File) error {
	cfg, err := readConfig(sync)
	Trace("stage: config read")
	if err != nil {
		return err
	}
	// Modes below are exact; the entrypoint gets the usual 022 back.
	unix.Umask(0)
	if err := ownSession(); err != nil {
		return err
	}
	var init *initSetup
	if cfg.Init {
		if init, err = startAppStage(cfg, sync); err != nil {
			return err
		}
		if err := init.waitLoaded(); err != nil {
			return err
		}
		if err := init.pinSelf(); err != nil {
			return err
		}
	}
	root, err := buildRoot(cfg, nil, 0, nil)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	if err := setUpUTSAndNetwork(cfg); err != nil {
		return err
	}
	if init != nil {
		// The app stage reports to the shim from now on.
		sync.Close()
		return becomeInit(cfg, init)
	}
	return execEntrypoint(cfg, root, sync)
}

// ownSession puts the container in a session of its own, as Docker does,
// and makes its terminal, if it has one, the session's controlling
// terminal: the shim's exit, which ends the shim's session, must not hang
// up the container.
func ownSession() error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("new session: %w", err)
	}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return nil
	}
	// 1: take the terminal over from the shim's session.
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 1); err != nil {
		return fmt.Errorf("take the terminal: %w", err)
	}
	return nil
}

// execEntrypoint switches to the container's user and policy and execs
// its entrypoint. root is "/" of the container.
func execEntrypoint(cfg *Config, root int, sync *os.File) error {
	proc := cfg.Spec.Process
	if err := applyRlimits(proc.Rlimits); err != nil {
		return err
	}
	argv0, env, err := becomeContainerProcess(cfg, root, os.Getpid())
	if err != nil {
		return err
	}
	// Every fd beyond stdio and the passed sockets is closed at exec,
	// whoever opened it.
	if err := unix.CloseRange(uint(3+len(cfg.Sockets)), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close fds: %w", err)
	}
	unix.Umask(0o022)
	// The shim's death must not kill the container once it runs.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return err
	}
	if err := defaultIgnoredSignals(); err != nil {
		return err
	}
	Trace("stage: exec")
	if err := reportExec(sync); err != nil {
		return fmt.Errorf("report to the shim: %w", err)
	}
	if proc.NoNewPrivileges {
		if err := loadSeccomp(cfg.Seccomp); err != nil {
			return err
		}
	}
	err = syscall.Exec(argv0, proc.Args, env)
	return fmt.Errorf("exec %s: %w", argv0, err)
}

// reportExec tells the shim that the entrypoint is about to be exec'd and
// hands it the container's network namespace with the message, while the
// process is still root: reaching it later through /proc/PID/ns/net of a
// container running as another user would take CAP_SYS_PTRACE, which the
// generated unit does not grant the shim.
func reportExec(sync *os.File) error {
	ns, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_, err = sync.Write([]byte{msgExec})
		return err
	}
	defer unix.Close(ns)
	return unix.Sendmsg(int(sync.Fd()), []byte{msgExec}, unix.UnixRights(ns), nil, 0)
}
