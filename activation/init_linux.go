package activation

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// appStageEnv marks the process that becomes the entrypoint under an init;
// its value is the fd of the pipe that delivers the configuration.
const appStageEnv = "_DOCKAH_APP"

// initSetup is the init's part of a start with Config.Init: the process
// that will become the entrypoint is started first, from the shim's binary
// while the host's file system is still in view (so nothing of the image
// is ever executed with the shim's privileges), and waits until the root
// is built.
type initSetup struct {
	app  *exec.Cmd
	pipe *os.File // configuration for the app stage
}

// startAppStage starts the app stage as a child of the init (pid 1).
func startAppStage(cfg *Config, sync *os.File) (*initSetup, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	files := make([]*os.File, 0, len(cfg.Sockets)+2)
	for i := range cfg.Sockets {
		files = append(files, os.NewFile(uintptr(3+i), "socket"))
	}
	files = append(files, sync, r)
	app := exec.Command("/proc/self/exe")
	app.Args = []string{"dockah-activate", "[app " + cfg.Name + "]"}
	app.Env = []string{
		stageEnv + "=" + strconv.Itoa(3+len(cfg.Sockets)),
		appStageEnv + "=" + strconv.Itoa(4+len(cfg.Sockets)),
	}
	app.Stdin, app.Stdout, app.Stderr = os.Stdin, os.Stdout, os.Stderr
	app.ExtraFiles = files
	// The app dies with its init.
	app.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := app.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start the entrypoint's process: %w", err)
	}
	return &initSetup{app: app, pipe: w}, nil
}

// runAppStage is the app stage: it waits for the configuration, which
// arrives once the root is built and entered, then execs the entrypoint.
func runAppStage(sync *os.File) error {
	fd, err := strconv.Atoi(os.Getenv(appStageEnv))
	if err != nil {
		return fmt.Errorf("bad %s", appStageEnv)
	}
	os.Unsetenv(appStageEnv)
	pipe := os.NewFile(uintptr(fd), "config")
	cfg, err := readConfig(pipe)
	pipe.Close()
	if err != nil {
		return err
	}
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	return execEntrypoint(cfg, root, sync)
}

// becomeInit hands the app stage its configuration and then acts as the
// container's pid 1: it forwards signals to the entrypoint (SIGTERM as the
// image's stop signal) and reaps every child, exiting with the
// entrypoint's status when it ends.
func becomeInit(cfg *Config, s *initSetup) error {
	// Container processes must not be able to ptrace the init or open
	// its /proc/1/exe, which is the host's shim binary (CVE-2019-5736).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return err
	}
	signals := make(chan os.Signal, 16)
	signal.Notify(signals)
	err := writeConfig(s.pipe, cfg)
	s.pipe.Close()
	if err != nil {
		return fmt.Errorf("hand over to the entrypoint's process: %w", err)
	}
	app := s.app.Process.Pid
	for sig := range signals {
		switch sig {
		case syscall.SIGCHLD:
			if status, done := reap(app); done {
				os.Exit(status)
			}
		case syscall.SIGURG, syscall.SIGWINCH:
			// SIGURG is the Go runtime's own preemption signal.
			if sig == syscall.SIGWINCH {
				_ = unix.Kill(app, unix.SIGWINCH)
			}
		default:
			forward := sig.(syscall.Signal)
			if forward == syscall.SIGTERM && cfg.StopSignal != 0 {
				forward = syscall.Signal(cfg.StopSignal)
			}
			_ = unix.Kill(app, forward)
		}
	}
	return errors.New("signal channel closed")
}

// reap collects every exited child; done is set when the entrypoint has
// exited, with the status the init should exit with.
func reap(app int) (status int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err != nil || pid <= 0 {
			return status, done
		}
		if pid != app {
			continue
		}
		done = true
		if ws.Signaled() {
			status = 128 + int(ws.Signal())
		} else {
			status = ws.ExitStatus()
		}
	}
}
