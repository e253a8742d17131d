package activation

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// appStageEnv marks the process that becomes the entrypoint under an init;
// its value is the fd of the pipe that delivers the configuration.
const appStageEnv = "_DOCKAH_APP"

// initEnv marks the container's init after it re-executed itself; its
// value is "APP_PID:STOP_SIGNAL".
const initEnv = "_DOCKAH_INIT"

// initSetup is the init's part of a start with Config.Init: the process
// that will become the entrypoint is started first, from the shim's binary
// while the host's file system is still in view (so nothing of the image
// is ever executed with the shim's privileges), and waits until the root
// is built.
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

// startAppStage starts the app stage as a child of the init (pid 1).
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

// pinSelf makes the shim binary read-only in the container's mount
// namespace and keeps an O_PATH fd of it, from which the init re-executes
// itself: its /proc/1/exe then cannot be opened for writing, even by a
// container process that may ptrace it (CVE-2019-5736).
func (s *initSetup) pinSelf() error {
	path, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return err
	}
	// The init re-executes itself after pivot_root, where a dynamic
	// loader would look for its libraries in the image.
	if dynamic, err := IsDynamic(path); err != nil || dynamic {
		return fmt.Errorf("init = true needs %s linked statically (make build does): %v", path, err)
	}
	if err := unix.Mount(path, path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind the shim binary read-only: %w", err)
	}
	if err := unix.Mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("bind the shim binary read-only: %w", err)
	}
	s.self, err = unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	return err
}

// IsDynamic reports whether the executable at path needs a dynamic loader
// (has a PT_INTERP program header).
func IsDynamic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
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

// becomeInit hands the app stage its configuration, gives up every
// privilege (capabilities, with no_new_privs and the container's seccomp
// filter) and re-executes the shim as the container's init. A new image
// matters: credentials and filters are per thread, and the setup stage's
// other threads would keep the shim's privileges.
func becomeInit(cfg *Config, s *initSetup) error {
	err := writeConfig(s.pipe, cfg)
	s.pipe.Close()
	if err != nil {
		return fmt.Errorf("hand over to the entrypoint's process: %w", err)
	}
	last, err := lastCap()
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return err
	}
	if err := dropBounding(0, last); err != nil {
		return err
	}
	if err := setCapabilities(CapabilitySets{}, last); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	if err := loadSeccomp(cfg.Seccomp); err != nil {
		return err
	}
	// "ready" goes through the exec; RunInit closes it.
	if _, err := unix.FcntlInt(s.ready.Fd(), unix.F_SETFD, 0); err != nil {
		return fmt.Errorf("keep the ready pipe: %w", err)
	}
	env := []string{fmt.Sprintf("%s=%d:%d:%d", initEnv, s.app.Process.Pid, cfg.StopSignal, s.ready.Fd())}
	argv := []string{"dockah-activate", "[init " + cfg.Name + "]"}
	err = execveat(s.self, argv, env)
	return fmt.Errorf("re-execute as the init: %w", err)
}

// IsInit reports whether this process is a container's init (see
// becomeInit); main calls RunInit then.
func IsInit() bool { return os.Getenv(initEnv) != "" }

// RunInit is the container's pid 1 under init = true: it forwards signals
// to the entrypoint (SIGTERM as the image's stop signal) and reaps every
// child, exiting with the entrypoint's status when it ends. It holds no
// privilege: see becomeInit.
func RunInit() {
	var app, stopSignal, ready int
	if _, err := fmt.Sscanf(os.Getenv(initEnv), "%d:%d:%d", &app, &stopSignal, &ready); err != nil || app <= 1 || ready < 3 {
		fmt.Fprintf(os.Stderr, "dockah init: bad %s\n", initEnv)
		os.Exit(ExitSetupFailed)
	}
	os.Unsetenv(initEnv)
	// Container processes must not ptrace the init or reach its exe; the
	// entrypoint starts only once that holds.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	unix.Close(ready)
	signals := make(chan os.Signal, 16)
	signal.Notify(signals)
	// The entrypoint may have ended while this image was loading.
	if status, done := reap(app); done {
		os.Exit(status)
	}
	for sig := range signals {
		switch sig {
		case syscall.SIGCHLD:
			if status, done := reap(app); done {
				os.Exit(status)
			}
		case syscall.SIGURG:
			// The Go runtime's own preemption signal.
		default:
			forward := sig.(syscall.Signal)
			if forward == syscall.SIGTERM && stopSignal != 0 {
				forward = syscall.Signal(stopSignal)
			}
			_ = unix.Kill(app, forward)
		}
	}
}

// execveat executes the file behind an O_PATH fd.
func execveat(fd int, argv, env []string) error {
	argvp, err := cStrings(argv)
	if err != nil {
		return err
	}
	envp, err := cStrings(env)
	if err != nil {
		return err
	}
	empty, _ := unix.BytePtrFromString("")
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return errno
}

// cStrings makes a NULL-terminated array of C strings.
func cStrings(ss []string) ([]*byte, error) {
	out := make([]*byte, len(ss)+1)
	for i, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
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
