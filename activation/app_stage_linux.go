package activation

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// The app stage exists under init = true only: the setup stage starts it
// before it builds the root, and it becomes the entrypoint once the root
// is built, while the setup stage becomes the container's init
// (init_linux.go).

// appStageEnv marks the app stage (with stageEnv); its value is the fd of
// the pipe that delivers the configuration.
const appStageEnv = "_DOCKAH_APP"

// initSetup is what the setup stage holds of a start with Config.Init:
// the app stage, started first from the shim's binary while the host's
// file system is still in view (so nothing of the image is ever executed
// with the shim's privileges), which waits until the root is built; and
// the binary the setup stage re-executes as the init (pinSelf).
type initSetup struct {
	app    *exec.Cmd
	pipe   *os.File // configuration for the app stage
	loaded *os.File // closed by the app stage once its binary is loaded
	// ready is held open across the init's re-execution and closed once
	// the init is not dumpable: until then the app stage waits, so that
	// no container process runs while /proc/1/exe is open to it.
	ready *os.File
	self  int // O_PATH fd of the shim binary on a read-only mount
}

// startAppStage starts the app stage as a child of the setup stage, pid 1
// and the init to be.
func startAppStage(cfg *Config, sync *os.File) (*initSetup, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	loadedR, loadedW, err := os.Pipe()
	if err != nil {
		w.Close()
		return nil, err
	}
	defer loadedW.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		w.Close()
		loadedR.Close()
		return nil, err
	}
	defer readyR.Close()
	files := make([]*os.File, 0, len(cfg.Sockets)+4)
	for i := range cfg.Sockets {
		files = append(files, os.NewFile(uintptr(3+i), "socket"))
	}
	// The app stage finds the config pipe at the fd appStageEnv names,
	// "loaded" after it and "ready" after that.
	files = append(files, sync, r, loadedW, readyR)
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
		loadedR.Close()
		readyW.Close()
		return nil, fmt.Errorf("start the entrypoint's process: %w", err)
	}
	return &initSetup{app: app, pipe: w, loaded: loadedR, ready: readyW, self: -1}, nil
}

// waitLoaded waits until the app stage runs: its binary and any libraries
// come from the host, never from the root about to replace "/".
func (s *initSetup) waitLoaded() error {
	defer s.loaded.Close()
	var b [1]byte
	if _, err := s.loaded.Read(b[:]); err != nil && err != io.EOF {
		return fmt.Errorf("wait for the entrypoint's process: %w", err)
	}
	return nil
}

// runAppStage is the app stage: it waits for the configuration, which
// arrives once the root is built and entered, then execs the entrypoint.
func runAppStage(sync *os.File) error {
	fd, err := strconv.Atoi(os.Getenv(appStageEnv))
	if err != nil {
		return fmt.Errorf("bad %s", appStageEnv)
	}
	os.Unsetenv(appStageEnv)
	// Tell the init this binary is loaded (fd+1 is the "loaded" pipe).
	os.NewFile(uintptr(fd+1), "loaded").Close()
	pipe := os.NewFile(uintptr(fd), "config")
	cfg, err := readConfig(pipe)
	pipe.Close()
	if err != nil {
		return err
	}
	// The init closes "ready" once it is not dumpable (or dies): an
	// entrypoint started earlier could open /proc/1/exe, the host's shim,
	// while the init's new image loads.
	ready := os.NewFile(uintptr(fd+2), "ready")
	_, _ = io.Copy(io.Discard, ready)
	ready.Close()
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	return execEntrypoint(cfg, root, sync)
}
