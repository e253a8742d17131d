package activation

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The container's init under init = true: the setup stage, once the root
// is built and the app stage has its configuration, gives up every
// privilege and re-executes itself as the init (becomeInit), which
// forwards signals to the app stage's entrypoint and reaps (RunInit).

// initEnv marks the container's init after it re-executed itself; its
// value is "APP_PID:STOP_SIGNAL:READY_FD".
const initEnv = "_DOCKAH_INIT"

// pinSelf makes the shim binary read-only in the container's mount
// namespace and keeps an O_PATH fd of it, from which the init re-executes
// itself: its /proc/1/exe then cannot be opened for writing, even by a
// container process that may ptrace it (CVE-2019-5736).
func (s *initSetup) pinSelf() error {
	path, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return err
	}
	s.self, err = pinBinary(path)
	return err
}

// pinBinary is pinSelf's work for the binary at path: a read-only bind
// of it in the calling thread's mount namespace, and an O_PATH fd of it.
func pinBinary(path string) (int, error) {
	// The init re-executes itself after pivot_root, where a dynamic
	// loader would look for its libraries in the image.
	if dynamic, err := IsDynamic(path); err != nil || dynamic {
		return -1, fmt.Errorf("init = true needs %s linked statically (make build does): %v", path, err)
	}
	if err := unix.Mount(path, path, "", unix.MS_BIND, ""); err != nil {
		return -1, fmt.Errorf("bind the shim binary read-only: %w", err)
	}
	if err := unix.Mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return -1, fmt.Errorf("bind the shim binary read-only: %w", err)
	}
	return unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
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
